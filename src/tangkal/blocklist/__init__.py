"""The national blocklist: block entries, approvals, proportionality rails, restoring access,
the public lookup and appeals.

A block entry is the legal decision; the RPZ (``tangkal.rpz``) is how resolvers learn of it.
Every change of an entry that changes what resolvers should do is published to the zone in
the same transaction, so the decision and the zone can never disagree.
"""
