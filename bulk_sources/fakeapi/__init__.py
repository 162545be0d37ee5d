"""An embedded stand-in for the Console API's assignment-source endpoints (like moto for AWS).

Strict where the real API is strict (schema, keys, names, both rate-limit windows), with
switchable faults, and `/__stats` to prove what a client did. See docs/fake-server.md.
"""

from .app import STATE_KEY, create_app
from .config import FakeApiConfig, FaultConfig, ListingFaults, generate_key
from .limits import RateLimiter
from .server import FakeApiServer
from .serverstate import Arrival, FakeApiState

__all__ = [
    "STATE_KEY",
    "Arrival",
    "FakeApiConfig",
    "FakeApiServer",
    "FakeApiState",
    "FaultConfig",
    "ListingFaults",
    "RateLimiter",
    "create_app",
    "generate_key",
]
