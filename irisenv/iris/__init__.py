"""Talking to IRIS inside a container: qlist, the ObjectScript runner, merge files,
readiness. Uses the engine adapter, never docker directly."""
