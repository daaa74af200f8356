"""How much memory an IRIS container needs for the caches irisenv pins: the floor of the
``memory`` check. The figures and their sources are in docs/learnings/memory.md.

irisenv pins only ``globals`` and ``routines``; everything else IRIS puts in shared memory
keeps its default and is counted here: the shared memory heap (``gmheap=0``: 3 % of the
global buffers, at least 300 MB, at most 2 GB), the journal buffers (``jrnbufs``, 64 MB),
the buffer descriptors (about 8 % of the global buffers, a few MB at the least) and ECP plus
miscellaneous structures (5 + 9..16 MB in IRIS's own startup lines). IRIS's processes live
outside shared memory and get a fixed allowance on top.
"""
from __future__ import annotations

MB = 1024**2

ROUTINES_MIN = 27 * MB  # IRIS never has fewer than 430 64-KB routine buffers (26.9 MB)
ROUTINES_SINGLE_MIN = 80 * MB  # a single routines= value below this is raised to 80 MB

HEAP_MIN = 300 * MB
HEAP_MAX = 2048 * MB
JOURNAL = 64 * MB
DESCRIPTORS_MIN = 4 * MB
ECP_AND_MISC = 32 * MB
PROCESSES = 128 * MB


def heap(globals_: int) -> int:
    """The default shared memory heap for a database cache of ``globals_`` bytes."""
    return min(max(globals_ * 3 // 100, HEAP_MIN), HEAP_MAX)


def descriptors(globals_: int) -> int:
    return globals_ * 8 // 100 + DESCRIPTORS_MIN


def shared(globals_: int, routines: int) -> int:
    """IRIS's shared memory (its "Allocated N MB shared memory" startup line), an upper
    estimate, in bytes."""
    return (globals_ + max(routines, ROUTINES_MIN) + descriptors(globals_) + heap(globals_)
            + JOURNAL + ECP_AND_MISC)


def floor(globals_: int, routines: int) -> int:
    """The smallest container memory limit irisenv accepts, rounded up to whole MB."""
    total = shared(globals_, routines) + PROCESSES
    return -(-total // MB) * MB


def parts(globals_: int) -> str:
    """The allowances beyond the caches, for messages."""
    def mb(n: int) -> str:
        return f"{-(-n // MB)}m"
    return (f"{mb(heap(globals_))} shared memory heap, {mb(JOURNAL)} journal buffers, "
            f"{mb(descriptors(globals_))} buffer descriptors, {mb(ECP_AND_MISC)} ECP and "
            f"miscellaneous, {mb(PROCESSES)} for IRIS's processes")
