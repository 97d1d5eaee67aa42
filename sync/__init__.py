"""The sync engine: op validation, merge rules and the apply/pull loop.

Plain Python: no Flask here. Storage is reached through the Store protocol
(see engine.py), so the same rules run against the database and in memory.
"""
from .engine import Actor, apply_ops, pull
from .errors import EnvelopeError, OpRejected
from .envelope import parse_envelope
from .types import TYPES

__all__ = ["Actor", "apply_ops", "pull", "EnvelopeError", "OpRejected", "parse_envelope", "TYPES"]
