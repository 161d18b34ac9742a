"""Domain rules: pure, I/O-free functions and values that the services and the call flow share."""
