"""Connectors to systems the customer already has: a people directory and a helpdesk.

Two ports (:mod:`atende.connectors.ports`), each chosen by one setting (``ATENDE_DIRECTORY``,
``ATENDE_HELPDESK``); every adapter is one module. Our own database stays the record of every
ticket and protocol number: an external helpdesk receives tickets through an outbox
(:mod:`atende.connectors.push`), and :mod:`atende.connectors.gateway` is what the phone flow,
the API and the CLI talk to.
"""
