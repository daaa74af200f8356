"""Parse `iris qlist` output (docs/learnings/readiness.md#monitor-state):
NAME^INSTALLDIR^VERSION^STATUS^CPF^SUPERSERVERPORT^WEBPORT^JDBCPORT^STATE^PRODUCT^..."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QList:
    name: str
    version: str
    status: str  # "running" | "down" | ... (the part before the comma)
    monitor: str  # ok | warn | alert | hung | ""

    @property
    def running(self) -> bool:
        return self.status == "running"


def parse_qlist(text: str, instance: str = "IRIS") -> QList | None:
    for line in text.splitlines():
        fields = line.strip().split("^")
        if len(fields) < 9 or fields[0].upper() != instance.upper():
            continue
        return QList(name=fields[0], version=fields[2],
                     status=fields[3].split(",", 1)[0].strip().lower(),
                     monitor=fields[8].strip().lower())
    return None
