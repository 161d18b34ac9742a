"""Unit tests: pure Python, no database, no sockets, milliseconds each."""
