"""The HTTP side: REST API under /api/v1, audio files, health and metrics."""
