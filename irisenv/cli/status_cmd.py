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
                except IrisenvError:
                    q = None
                if q is not None and q.running:
                    row.update(iris=q.status, monitor=q.monitor, version=q.version)
                    row.update(_iris_state(project, name, c.id))
                else:  # IRIS is not up: still booting, or down after booting
                    iris = _not_up(project, c.id, q)
                    row.update(iris=iris, version=q.version if q else None, iris_state=None,
                               iris_state_error=_not_up_text(iris))
        rows.append(row)
    for c in containers:
        if c.instance not in desired:
            rows.append({"instance": c.instance, "container": c.name, "exists": True,
                         "state": c.state, "id": c.short_id, "orphan": True})
    return rows


def _not_up_text(iris: str) -> str | None:
    if iris == "starting":
        return None
    if iris == "licence-error":
        return "IRIS stopped on a licence error: `irisenv sync` names the fix, `irisenv logs` shows the log"
    return f"IRIS is {iris} while its container runs: read `irisenv logs`"


def _not_up(project, container_id: str, q) -> str:
    """A running container whose IRIS does not say running: "starting" until this run's log
    has the ready line (then qlist's own word, e.g. "down"), "licence-error" on one."""
    from ..errors import IrisenvError
    from ..iris.readiness import boot_log

    try:
        said = boot_log(project.engine, container_id)
    except IrisenvError:
        said = None
    if said == "":
        return "starting"
    if said == "licence":
        return "licence-error"
    return q.status if q is not None else "unknown"


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
    from ..core.iris_plan import diff, kept_namespaces
    from ..core.iris_record import DECLARED
    from ..errors import IrisenvError
    from ..iris.probe import observe

    want = project.iris_desired()[instance]
    try:
        seen = observe(project.engine, container_id, want, project.passwords()[instance], timeout=30)
    except IrisenvError as exc:
        return {"iris_state": None, "iris_state_error": exc.what}
    pending = diff(want, seen)
    return {"iris_state": {
        "namespaces": {n: ("present" if ok else "missing") for n, ok in seen.namespaces.items()},
        "owned_namespaces": sorted(seen.recorded(DECLARED)),
        "callin": seen.callin,
        "user": want.username,
        "user_exists": seen.user_exists,
        "password_verified": seen.password_ok,
        "password_change_required": seen.user_change_required,
        "system_password_change_required": seen.system_change_required,
        "pending": [f"{a.symbol} {a.describe()}" for a in pending],
        "kept_namespaces": list(kept_namespaces(want, seen)),
    }}


def run(args) -> int:
    project = load_project(args)
    rows = collect(project)
    if args.json:
        print_json({"project": project.name, "instances": rows})
        return 0
    print(f"project {project.name}")
    table = [("INSTANCE", "CONTAINER", "STATE", "IRIS", "PORT", "WEB", "DRIFT")]
    for r in rows:
        drift = "orphan" if r.get("orphan") else ("yes" if r.get("drift") else
                                                  ("no" if r.get("drift") is False else "-"))
        iris = r.get("iris") or "-"
        if r.get("monitor") and r["monitor"] != "ok":
            iris += f"/{r['monitor']}"
        table.append((r["instance"] or "?", r["container"], r["state"], iris,
                      str(r.get("port") or "-"), str(r.get("web_port") or "-"), drift))
    widths = [max(w, *(len(line[i]) for line in table))  # at least the usual widths
              for i, w in enumerate((12, 28, 9, 8, 6, 6))]
    for line in table:  # each column as wide as its longest value
        print(" ".join(v.ljust(w) for v, w in zip(line, widths)) + " " + line[-1])
    for r in rows:
        st = r.get("iris_state")
        if not st:
            if r.get("iris") == "starting":
                print(f"  {r['instance']}: IRIS is starting (no 'Enabling logons' in this run's "
                      "log yet); namespaces and the user are read once it is up")
            elif r.get("iris_state_error") and r.get("iris") not in (None, "running"):
                print(f"  {r['instance']}: {r['iris_state_error']}")
            elif r.get("iris_state_error"):
                print(f"  {r['instance']}: IRIS state unknown ({r['iris_state_error']})")
            continue
        ns = ", ".join(f"{n}{'' if v == 'present' else ' (missing)'}"
                       for n, v in st["namespaces"].items()) or "USER only"
        user = (f"{st['user']}: " + ("absent" if not st["user_exists"] else
                ("password verified" if st["password_verified"] else "password NOT verified")
                + (", change required" if st["password_change_required"] else "")))
        if st["system_password_change_required"] and st["user"] != "_SYSTEM":
            user += "; _SYSTEM: password change required"
        print(f"  {r['instance']}: namespaces {ns}; CallIn "
              f"{'on' if st['callin'] else 'off'}; user {user}")
        for p in st["pending"]:
            print(f"    pending: {p}")
        for n in st["kept_namespaces"]:
            print(f"    kept: namespace {n} (no longer declared; on durable storage, so only "
                  "`irisenv sync --drop-namespaces` drops it)")
    return 0
