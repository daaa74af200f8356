"""Pure core: labels, desired spec and hash, observed snapshot, plan steps, reconcile().

Nothing here talks to Docker or IRIS; everything here is unit-tested without an engine.
"""
