"""Adapters to systems the customer already has: a people directory and a helpdesk.

Two ports (:mod:`atende.connectors.ports`), each chosen by one setting (``ATENDE_DIRECTORY``,
``ATENDE_HELPDESK``); every adapter is one module that registers itself by name (see
:mod:`atende.registry`). Nothing here imports a service: the use cases (identify a caller, push
tickets through the outbox, read their status) are :mod:`atende.services.directory` and
:mod:`atende.services.helpdesk_sync`.
"""
