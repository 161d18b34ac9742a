"""Local stand-ins for external products, each written from its vendor's documented contract
and served over real loopback sockets."""
