"""Python clients for Clossyne, a distributed ordered key-value store.

- `Client`: the broker's msgpack envelope protocol over ZeroMQ (docs/PROTOCOL.md), port 4298.
- `Clossyne`: the seed's original client API over its `CMD:args` text dialect, frontend port 4297.
"""
from .client import Client, Pipeline
from .errors import ClossyneError, ClossyneTimeout
from .progress import Progress
from .seed import Clossyne

__all__ = ["Client", "Pipeline", "Clossyne", "ClossyneError", "ClossyneTimeout", "Progress"]
__version__ = "0.1.0"
