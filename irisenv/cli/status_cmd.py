"""irisenv status: each instance's container, state, readiness, ports and drift."""
from __future__ import annotations

from .common import load_project, print_json


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true")
    p.set_defaults(_run=run)


def collect(project) -> list[dict]:
    from ..core.desired import SUPERSERVER_PORT, WEB_PORT
    from ..errors import IrisenvError
    from ..iris.qlist import parse_qlist

    desired = {d.instance: d for d in project.desired()}
    containers = project.engine.list_project(project.name)
    rows = []
    for name, d in desired.items():
        c = next((c for c in containers if c.name == d.name), None)
        row = {"instance": name, "container": d.name, "exists": c is not None,
               "state": c.state if c else "absent", "id": c.short_id if c else None,
               "image": d.image, "port": None, "web_port": None, "drift": None,
               "iris": None, "monitor": None, "version": None}
        if c is not None:
            row.update(port=c.ports.get(SUPERSERVER_PORT), web_port=c.ports.get(WEB_PORT),
                       drift=c.hash != d.hash or bool(_real_drift(project, d, c)),
                       status=c.status)
            if c.state == "running":
                try:
                    q = parse_qlist(project.engine.exec(c.id, ["iris", "qlist", "IRIS"],
                                                        timeout=15).stdout)
                    if q:
                        row.update(iris=q.status, monitor=q.monitor, version=q.version)
                except IrisenvError:
                    row["iris"] = "unknown"
                row.update(_iris_state(project, name, c.id))
        rows.append(row)
    for c in containers:
        if c.instance not in desired:
            rows.append({"instance": c.instance, "container": c.name, "exists": True,
                         "state": c.state, "id": c.short_id, "orphan": True})
    return rows


def _real_drift(project, d, c) -> list:
    """Fields where the container's real settings differ from the config (docker inspect)."""
    from ..core.drift import container_drift
    from ..errors import IrisenvError

    try:
        return container_drift(d, project.engine.actual(c.id))
    except IrisenvError:
        return []


def _iris_state(project, instance: str, container_id: str) -> dict:
    """Namespaces, CallIn and the user's state, read from IRIS itself (never the password)."""
    from ..core.iris_state import diff
    from ..errors import IrisenvError
    from ..iris.state import observe

    want = project.iris_desired()[instance]
    try:
        seen = observe(project.engine, container_id, want, project.passwords()[instance], timeout=30)
    except IrisenvError as exc:
        return {"iris_state": None, "iris_state_error": exc.what}
    pending = diff(want, seen)
    return {"iris_state": {
        "namespaces": {n: ("present" if ok else "missing") for n, ok in seen.namespaces.items()},
        "owned_namespaces": sorted(seen.owned),
        "callin": seen.callin,
        "user": want.username,
        "user_exists": seen.user_exists,
        "password_verified": seen.password_ok,
        "password_change_required": seen.user_change_required,
        "system_password_change_required": seen.system_change_required,
        "pending": [f"{a.symbol} {a.describe()}" for a in pending],
    }}


def run(args) -> int:
    project = load_project(args)
    rows = collect(project)
    if args.json:
        print_json({"project": project.name, "instances": rows})
        return 0
    print(f"project {project.name}")
    head = f"{'INSTANCE':<12} {'CONTAINER':<28} {'STATE':<9} {'IRIS':<8} {'PORT':<6} {'WEB':<6} DRIFT"
    print(head)
    for r in rows:
        drift = "orphan" if r.get("orphan") else ("yes" if r.get("drift") else
                                                  ("no" if r.get("drift") is False else "-"))
        iris = r.get("iris") or "-"
        if r.get("monitor") and r["monitor"] != "ok":
            iris += f"/{r['monitor']}"
        print(f"{r['instance'] or '?':<12} {r['container']:<28} {r['state']:<9} {iris:<8} "
              f"{r.get('port') or '-'!s:<6} {r.get('web_port') or '-'!s:<6} {drift}")
    for r in rows:
        st = r.get("iris_state")
        if not st:
            if r.get("iris_state_error"):
                print(f"  {r['instance']}: IRIS state unknown ({r['iris_state_error']})")
            continue
        ns = ", ".join(f"{n}{'' if v == 'present' else ' (missing)'}"
                       for n, v in st["namespaces"].items()) or "USER only"
        user = (f"{st['user']}: " + ("absent" if not st["user_exists"] else
                ("password verified" if st["password_verified"] else "password NOT verified")
                + (", change required" if st["password_change_required"] else "")))
        print(f"  {r['instance']}: namespaces {ns}; CallIn "
              f"{'on' if st['callin'] else 'off'}; user {user}")
        for p in st["pending"]:
            print(f"    pending: {p}")
    return 0
