"""Hashing engine for shared hash banks: signal types and in-memory indexes.

Pure domain code (no database, no HTTP): the bank and match services build on
:mod:`tangkal.hashing.signals` (what a signal is) and :mod:`tangkal.hashing.index`
(finding stored signals near a query).
"""

# The registry first: it registers the types of other modules (tangkal.hashing.video), which
# build on it, so importing one of those before it would find it half made.
from tangkal.hashing import signals as signals
