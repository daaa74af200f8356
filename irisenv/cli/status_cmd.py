"""irisenv status: each instance's container, state, readiness, ports and drift."""
from __future__ import annotations

from .common import load_project, print_json


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true")
    p.set_defaults(_run=run)


def collect(project) -> list[dict]:
    """One row per instance (and per orphan), from the same observe path and pure plan as
    `irisenv plan`: the container list, real settings and IRIS state probes are read once,
    concurrently. Only a running container whose IRIS did not answer the probe is asked
    more (qlist and its log), to say whether IRIS is starting, down or stopped on a licence."""
    from ..core.desired import SUPERSERVER_PORT, WEB_PORT
    from ..core.drift import container_drift
    from ..core.plan import Converge
    from ..iris.probe import short_version
    from ..observe import concurrently

    desired, observed, plan = project.survey(registry=False)  # what runs: no registry
    wanted = project.iris_desired()
    leases = _lease_table(project, wanted)
    rows, not_up = [], []
    for d in desired:
        c = next((c for c in observed.containers if c.name == d.name
                  and c.state not in ("removing", "dead")), None)
        row = {"instance": d.instance, "container": d.name, "exists": c is not None,
               "state": c.state if c else "absent", "id": c.short_id if c else None,
               "image": d.image, "port": None, "web_port": None, "drift": None,
               "iris": None, "monitor": None, "version": None, "monitoring": None,
               "monitoring_detail": None}
        if wanted[d.instance].pools:
            row["pools"] = _pools(d.instance, wanted[d.instance], leases)
        spares = _spares(d, observed)
        if spares:
            row["spares"] = spares
        rows.append(row)
        if c is None:
            continue
        row.update(port=c.ports.get(SUPERSERVER_PORT), web_port=c.ports.get(WEB_PORT),
                   drift=c.hash != d.hash or bool(c.actual and container_drift(d, c.actual)),
                   status=c.status)
        seen = observed.iris.get(c.id)
        if seen is not None:  # the probe answered: IRIS runs and takes sessions
            pending = next((s.actions for s in plan.for_instance(d.instance)
                            if isinstance(s, Converge)), ())
            row.update(_monitoring(seen.watch))
            row.update(iris="running", monitor=seen.monitor or None,
                       version=short_version(seen.version) or None,
                       iris_state=_iris_state(wanted[d.instance], seen, pending))
        elif c.state == "running":
            not_up.append((row, c))
    for row, (iris, version) in zip([r for r, _ in not_up], concurrently(
            [lambda c=c: _not_up(project, c.id) for _, c in not_up])):
        row.update(iris=iris, version=version, iris_state=None,
                   iris_state_error=_not_up_text(iris))
    for c in observed.containers:
        if c.instance not in wanted:
            rows.append({"instance": c.instance, "container": c.name, "exists": True,
                         "state": c.state, "id": c.short_id, "orphan": True})
    return rows


def _spares(d, observed) -> dict | None:
    """{"wanted", "ready", "booting", "stale"}: the instance's warm spares (docs/spares.md)."""
    from ..core.plan import sort_spares

    mine = [c for c in observed.containers if c.instance == d.instance and c.is_spare]
    if not (mine or d.spares):
        return None
    usable, drained = sort_spares(d, mine, observed.image_ids.get(d.image), None)
    ready = sum(c.id in observed.iris for c in usable)
    return {"wanted": d.spares, "ready": ready, "booting": len(usable) - ready,
            "stale": len(drained)}


def _monitoring(watch: dict | None) -> dict:
    """The monitoring word (core/monitor_files.word) and its detail, from the watcher's
    state file the IRIS probe read in its own exec (no extra call)."""
    from ..core.monitor_files import word

    if watch is None:
        return {"monitoring": "off", "monitoring_detail": None}
    state = watch["state"]
    alive = watch["alive"] or state is None
    return {"monitoring": word(state, paused=watch["paused"], alive=alive),
            "monitoring_detail": {**(state.as_dict() if state else {"state": None}),
                                  "paused": watch["paused"], "watcher_running": watch["alive"]}}


def _lease_table(project, wanted: dict):
    """The pool's lease table (one file read, no Docker call), when a pool is declared."""
    if not any(w.pools for w in wanted.values()):
        return None
    from ..pool_sync import table

    return table(project.engine, project.name).read()


def _pools(instance: str, want, leases) -> dict:
    """{template: {state: count, "max": n, "errors": {copy: why its last reset failed}}}
    for the instance's pools, as the lease table says."""
    from ..core.leases import key

    out = {}
    for p in want.pools:
        k = key(instance, p.template)
        known = leases.templates.get(k) if leases is not None else None
        out[p.template] = {**leases.counts(k), "max": p.max, "synced": known is not None,
                           "errors": {c.rpartition("/")[2]: v.error
                                      for c, v in sorted(leases.of(k).items()) if v.error}}
    return out


def _pool_lines(r: dict) -> list:
    from ..core.leases import STATES, describe_counts

    lines = []
    for name, p in r.get("pools", {}).items():
        said = (describe_counts({s: p[s] for s in STATES}) if p["synced"]
                else "not made yet (`irisenv sync` makes it)")
        lines.append(f"  {r['instance']}: {name} pool: {said} (max {p['max']})")
        lines += [f"    {c}: last reset failed: {why}" for c, why in p["errors"].items()]
    return lines


def _not_up_text(iris: str) -> str | None:
    if iris == "starting":
        return None
    if iris == "licence-error":
        return "IRIS stopped on a licence error: `irisenv sync` names the fix, `irisenv logs` shows the log"
    if iris == "running":
        return "IRIS runs but did not answer irisenv's state probe (a session): read `irisenv logs`"
    return f"IRIS is {iris} while its container runs: read `irisenv logs`"


def _not_up(project, container_id: str) -> tuple:
    """(IRIS's state word, its version) for a running container whose IRIS did not answer
    the probe: "starting" until this run's log has the ready line (then qlist's own word,
    e.g. "down"), "licence-error" on one."""
    from ..errors import IrisenvError
    from ..iris.qlist import parse_qlist
    from ..iris.readiness import boot_log

    try:
        q = parse_qlist(project.engine.exec(container_id, ["iris", "qlist", "IRIS"],
                                            timeout=15).stdout)
    except IrisenvError:
        q = None
    version = q.version if q else None
    try:
        said = boot_log(project.engine, container_id)
    except IrisenvError:
        said = None
    if said == "":
        return "starting", version
    if said == "licence":
        return "licence-error", version
    return (q.status if q is not None else "unknown"), version


def _iris_state(want, seen, pending: tuple) -> dict:
    """Namespaces, CallIn and the user's state as IRIS showed them (never the password)."""
    from ..core.iris_plan import kept_namespaces
    from ..core.iris_record import DECLARED

    return {
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
    }


def run(args) -> int:
    project = load_project(args)
    rows = collect(project)
    if args.json:
        print_json({"project": project.name, "instances": rows})
        return 0
    print(f"project {project.name}")
    table = [("INSTANCE", "CONTAINER", "STATE", "IRIS", "PORT", "WEB", "DRIFT", "MONITORING")]
    for r in rows:
        drift = "orphan" if r.get("orphan") else ("yes" if r.get("drift") else
                                                  ("no" if r.get("drift") is False else "-"))
        iris = r.get("iris") or "-"
        if r.get("monitor") and r["monitor"] != "ok":
            iris += f"/{r['monitor']}"
        table.append((r["instance"] or "?", r["container"], r["state"], iris,
                      str(r.get("port") or "-"), str(r.get("web_port") or "-"), drift,
                      r.get("monitoring") or "-"))
    widths = [max(w, *(len(line[i]) for line in table))  # at least the usual widths
              for i, w in enumerate((12, 28, 9, 8, 6, 6, 6))]
    for line in table:  # each column as wide as its longest value
        print(" ".join(v.ljust(w) for v, w in zip(line, widths)) + " " + line[-1])
    for r in rows:
        for line in _pool_lines(r):
            print(line)
        if r.get("spares"):
            s = r["spares"]
            print(f"  {r['instance']}: spares: {s['ready']} ready, {s['booting']} booting"
                  + (f", {s['stale']} stale (the next sync drains them)" if s["stale"] else "")
                  + f" (spares = {s['wanted']})")
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
