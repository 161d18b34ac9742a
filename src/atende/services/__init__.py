"""Use cases shared by the REST API, the dashboard and the phone flow.

Each service method is one transaction and returns detached ORM rows (loaded eagerly), so an
entry point never holds a database session across a network wait.
"""
