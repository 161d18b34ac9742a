"""atende: a self-hosted IVR (URA) and the ticket/protocol service behind it."""

__version__ = "0.1.0"
