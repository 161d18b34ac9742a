"""Use cases shared by the REST API, the dashboard and the phone flow.

Each service method is one transaction, so an entry point never holds a database session
across a network wait. It returns plain frozen dataclasses read inside that session (people,
catalog, tokens, users: ``PersonView``, ``CategoryView``...); services not converted yet
return detached ORM rows, loaded eagerly.
"""
