"""CPF merge files (docs/learnings/merge.md): the first-boot file irisenv copies into a created
container (ISC_CPF_MERGE_FILE), combined with the user's own merge file.

Combining: sections are merged by name; within [Actions] lines are concatenated (ours
first); elsewhere Key=Value pairs are merged with the user's values winning. The header is
always written exactly "[Actions]" (a lower-case one is silently ignored by IRIS)."""
from __future__ import annotations

from ..config import memory
from ..config.model import Instance

MB = memory.MB


def parse(text: str) -> list[tuple[str, list[str]]]:
    """[(section, [Key=Value lines])], sections merged by name (case-insensitively).

    Raises ValueError naming the line NUMBER and what is wrong, never quoting the line:
    the text may be any file a user named, and a message must not show its content."""
    sections: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise ValueError(f"line {number} starts a [section] header that is not "
                                 "closed with ]")
            name = line[1:-1].strip()
            if not name:
                raise ValueError(f"line {number} is a [section] header with no name")
            if name.lower() == "actions":
                name = "Actions"  # normalize: IRIS ignores "[actions]"
            existing = next((s for s in sections if s[0].lower() == name.lower()), None)
            if existing is None:
                existing = (name, [])
                sections.append(existing)
            current = existing[1]
            continue
        if current is None:
            raise ValueError(f"line {number} comes before any [section] header")
        if "=" not in line:
            raise ValueError(f"line {number} is not a Key=Value line")
        current.append(line)
    return sections


def combine(ours: str, theirs: str) -> str:
    merged = parse(ours)
    for name, lines in parse(theirs):
        target = next((s for s in merged if s[0].lower() == name.lower()), None)
        if target is None:
            merged.append((name, list(lines)))
        elif name == "Actions":
            target[1].extend(lines)
        else:
            keys = {ln.split("=", 1)[0].strip().lower(): i for i, ln in enumerate(target[1])}
            for ln in lines:
                k = ln.split("=", 1)[0].strip().lower()
                if k in keys:
                    target[1][keys[k]] = ln
                else:
                    target[1].append(ln)
    out = []
    for name, lines in merged:
        out.append(f"[{name}]")
        out.extend(lines)
        out.append("")
    return "\n".join(out)


def routines_line(routines: int) -> str:
    """``routines=`` for a pinned cache of ``routines`` bytes. A single value below 80 MB is
    raised to 80 MB by IRIS, so a smaller cache goes into the six-value form (MB per pool of
    2/4/8/16/32/64-KB buffers), all in the 64-KB pool IRIS always has; from 80 MB on the
    single value lets IRIS split it over its pools (docs/learnings/memory.md)."""
    if routines < memory.ROUTINES_SINGLE_MIN:
        return f"routines=0,0,0,0,0,{routines // MB}"
    return f"routines={routines // MB}"


def first_boot(inst: Instance, user_merge: str | None = None, actions: str = "") -> str:
    """The file IRIS merges before its first start (ISC_CPF_MERGE_FILE): pinned caches
    (without them IRIS sizes itself from host RAM, docs/learnings/memory.md), then
    ``actions`` (irisenv's [Actions] for namespaces, CallIn, _SYSTEM's flags; no secrets),
    then the user's own merge file. IRIS-level state is verified after boot all the same."""
    ours = "\n".join([
        "[config]",
        # globals=a,b,c,d,e,f: MB per database block size; c is the 8 KB cache (RACS_globals)
        f"globals=0,0,{inst.globals // MB},0,0,0",
        routines_line(inst.routines),
        "",
    ])
    return combine(combine(ours, actions), user_merge or "")
