"""Drift the labels cannot see: a container's real settings (`docker inspect`, as
:class:`~irisenv.core.observed.Actual`) against the desired spec. Pure.

The spec label says what irisenv asked for; Docker says what the container has. They part
when someone runs `docker update --memory`, or makes a container elsewhere and copies
irisenv's labels onto it. Each field that differs forces a replacement, like a label diff.
"""
from __future__ import annotations

import re

from . import labels as L
from .desired import SUPERSERVER_PORT, VOLUME_MOUNT, WEB_PORT, DesiredContainer, nano_cpus
from .observed import Actual

_ANONYMOUS = re.compile(r"^volume [0-9a-f]{64}$")  # an image's VOLUME, made by Docker
NOT_PUBLISHED = "(not published)"


def container_drift(d: DesiredContainer, actual: Actual) -> list[tuple[str, object, object]]:
    """(field, actual, desired) for every field of the real container that differs from
    ``d``. Field names are the spec's (memory, cpus, host_ip, superserver, web, storage),
    plus ``ports`` for anything else published."""
    full = d.full_spec()
    out: list = []
    if (actual.memory or None) != full["memory"]:
        out.append(("memory", actual.memory or None, full["memory"]))
    if abs(actual.nano_cpus - nano_cpus(full["cpus"])) > 1:
        out.append(("cpus", round(actual.nano_cpus / 1e9, 3) if actual.nano_cpus else None,
                    full["cpus"]))
    ours = {f"{SUPERSERVER_PORT}/tcp": "superserver", f"{WEB_PORT}/tcp": "web"}
    bound: dict = {}
    other = []
    for port, ip, host_port in actual.ports:
        if port in ours:
            bound.setdefault(ours[port], []).append((ip, host_port))
        else:
            other.append(f"{ip}:{host_port or 'auto'}->{port}")
    ips = sorted({ip for pairs in bound.values() for ip, _ in pairs})
    if ips and ips != [full["host_ip"]]:
        out.append(("host_ip", ", ".join(ips), full["host_ip"]))
    for key in ("superserver", "web"):
        want, pairs = full[key], bound.get(key, [])
        have = ", ".join(sorted({str(p or "auto") for _, p in pairs})) or NOT_PUBLISHED
        if want is False:
            if pairs:
                out.append((key, have, False))
        elif not pairs:
            out.append((key, NOT_PUBLISHED, want))
        elif want not in ("auto", 0) and any(p != int(want) for _, p in pairs):
            out.append((key, have, want))  # "auto" takes any port; a number must match
    if other:
        out.append(("ports", ", ".join(sorted(other)), "(only 1972 and 52773)"))
    have_mounts = {dest: what for dest, what in actual.mounts.items()
                   if dest == VOLUME_MOUNT or not _ANONYMOUS.match(what)}
    want_mounts = _mounts(d, full["storage"])
    if have_mounts != want_mounts:
        out.append(("storage", _show_mounts(have_mounts), _show_mounts(want_mounts)))
    return out


def _mounts(d: DesiredContainer, storage: str) -> dict:
    if storage == "volume":
        return {VOLUME_MOUNT: f"volume {L.volume_name(d.project, d.instance)}"}
    if storage == "tmpfs":
        return {VOLUME_MOUNT: "tmpfs"}
    return {}


def _show_mounts(mounts: dict) -> str:
    return ", ".join(f"{what} at {dest}" for dest, what in sorted(mounts.items())) or "(no mounts)"
