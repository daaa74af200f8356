"""irisenv doctor: the known traps, checked. Exit 0 when nothing fails (warnings allowed)."""
from __future__ import annotations

from .common import print_json

OK, WARN, FAIL = "ok", "warn", "fail"
_PINNED = r":(\d{4}\.\d+)([.\d]*)$"  # compiled when doctor runs (this module loads for --help)


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true")
    p.set_defaults(_run=run)


def check_driver() -> tuple[str, str]:
    """The sqlalchemy-iris / intersystems-irispython clash, or a missing driver."""
    from importlib import metadata, util

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    official = version("intersystems-irispython")
    sqla = version("sqlalchemy-iris")
    legacy = version("intersystems-iris")
    if official is None:
        return WARN, ("intersystems-irispython is not installed: irisenv.connect() and the "
                      "iris_connection fixture need it (pip install 'irisenv[driver]')")
    spec = util.find_spec("iris")
    if spec is None:
        return FAIL, "intersystems-irispython is installed but `import iris` finds nothing"
    try:
        import iris  # noqa: F401
        import iris.dbapi

        ok = hasattr(iris.dbapi, "connect")
    except Exception as exc:  # a broken install raises anything
        return FAIL, (f"`import iris.dbapi` fails ({exc.__class__.__name__}: {exc})"
                      + (f"; sqlalchemy-iris {sqla} is installed too: a known clash"
                         if sqla else "")
                      + "; fix: pip install --force-reinstall intersystems-irispython")
    if not ok:
        return FAIL, ("the `iris` module is not the InterSystems driver"
                      + (f" (sqlalchemy-iris {sqla} overwrote it)" if sqla else "")
                      + "; fix: pip install --force-reinstall intersystems-irispython")
    extra = f"; sqlalchemy-iris {sqla} also installed and working" if sqla else ""
    if legacy:
        extra += f"; the legacy shim intersystems-iris {legacy} is installed too"
    return OK, f"intersystems-irispython {official}{extra}"


def check_image(engine, inst) -> tuple[str, str, str]:
    """The instance's image on the engine, under its pull policy; with pull = "always",
    also what the registry has behind the tag (one round trip, as sync asks it)."""
    from ..errors import IrisenvError, RegistryError

    name, ref = f"{inst.name}: image", inst.image
    try:
        if engine.image_id(ref) is None:
            if inst.pull == "never":
                return name, FAIL, (f'{ref} is not present, and pull = "never": build, load or '
                                    f'pull it yourself (docker pull {ref}), or set pull = "missing"')
            return name, WARN, f"{ref} is not present; sync will pull it"
        if inst.pull != "always" or "@" in ref:
            return name, OK, f"{ref} is present"
        local = engine.image_digests(ref)
        try:
            digest = engine.registry_digest(ref)
        except RegistryError as exc:
            status = WARN if exc.reason == "unreachable" else FAIL
            return name, status, f"{ref} is present; {exc.what}: {exc.why}; fix: {exc.fix}"
        if digest in local:
            return name, OK, f"{ref} is present and the registry has the same image behind the tag"
        return name, WARN, (f"{ref} is present; the registry has a newer image behind the tag "
                            f"({digest[:19]}): sync will pull it and replace the container")
    except IrisenvError as exc:  # e.g. Docker refuses the reference itself
        return name, FAIL, f"{exc.what}: {exc.why}; fix: {exc.fix}"


def check_files(inst) -> list[tuple[str, str, str]]:
    """The instance's licence and merge files: OK, or FAIL with what `config validate`
    reports for them (irisenv.userfiles checks both)."""
    from .. import userfiles

    bad = {exc.key.rsplit(".", 1)[1]: exc for exc in userfiles.problems(inst)}
    out = []
    for field, label, path in (("license_key", "licence", inst.license_key),
                               ("merge", "merge file", inst.merge)):
        if path is None:
            continue
        exc = bad.get(field)
        out.append((f"{inst.name}: {label}", FAIL, f"{exc.detail}; fix: {exc.fix}") if exc
                   else (f"{inst.name}: {label}", OK, str(path)))
    return out


def check_remote_port(host: str, port: int, timeout: float = 3.0) -> tuple[str, str]:
    """A port on a remote engine's host, seen from this machine: a connection accepted
    means something listens there (FAIL); refused means free (OK); no answer cannot tell
    (WARN: a firewall, or the host is down)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            return FAIL, f"in use on {host} (something accepts connections there)"
    except ConnectionRefusedError:
        return OK, f"free on {host}"
    except OSError as exc:
        return WARN, f"cannot tell whether it is free on {host}: {exc.strerror or exc}"


def check_port(host: str, port: int) -> bool:
    from ..registry import bindable  # the port registry's bind test, as Docker would bind

    return bindable(host, port)


def check_ports(project, engine, inst) -> list[tuple[str, str, str]]:
    """Where the instance's ports would be published, and its fixed ports: a bind test on
    this machine for a local engine, a connection to the engine's host for a remote one."""
    from ..connection import host, placed, unreachable
    from ..engine import is_remote
    from ..errors import IrisenvError

    endpoint = engine.endpoint
    problem = unreachable(endpoint, inst)
    if problem is not None:
        what, _, fix = problem
        return [(f"{inst.name}: host_ip", FAIL, f"{what}; fix: {fix}")]
    try:
        inst = placed(endpoint, inst)
        where = host(endpoint, inst)
    except IrisenvError as exc:  # "engine-host" that does not resolve
        return [(f"{inst.name}: host_ip", FAIL, f"{exc.what}; fix: {exc.fix}")]
    remote = is_remote(endpoint)
    mine = {c.name: c for c in engine.list_project(project.name)}
    name = f"{project.name}-{inst.name}"
    out = []
    for which in ("superserver", "web"):
        port = getattr(inst.ports, which)
        if isinstance(port, bool) or not isinstance(port, int) or port == 0:
            continue
        label = f"{inst.name}: port {port}"
        if name in mine and port in mine[name].ports.values():
            out.append((label, OK, "held by " + name))
            continue
        fix = f'; free it or set ports.{which} = "auto"'
        if remote:
            status, detail = check_remote_port(where, port)
            out.append((label, status, detail + (fix if status == FAIL else "")))
        elif check_port(inst.ports.host_ip, port):
            out.append((label, OK, "free"))
        else:
            out.append((label, FAIL, f"in use on {inst.ports.host_ip}{fix}"))
    return out


def run(args) -> int:
    from ..errors import IrisenvError

    checks: list[tuple[str, str, str]] = []
    project = None
    try:
        from .common import load_project

        project = load_project(args)
        where = str(project.config.path) if project.config.path else "no file: zero-config default"
        checks.append(("config", OK, f"{where}; project {project.name}"))
    except IrisenvError as exc:
        checks.append(("config", FAIL, exc.what))
    engine = None
    if project is not None:
        try:
            engine = project.engine
            info = engine.info()
            from ..engine import is_remote

            checks.append(("engine", OK, f"{info.product} {info.version} at {info.endpoint}"
                           + (" (remote)" if is_remote(info.endpoint) else "")
                           + (f", chosen by {info.source}" if info.source else "")))
        except IrisenvError as exc:
            engine = None  # no further engine checks: each would fail the same way
            checks.append(("engine", FAIL, f"{exc.what}; {exc.fix}"))
    if project is not None:
        for inst in project.config.instances.values():
            import re

            pinned = re.search(_PINNED, inst.image)
            if inst.edition == "community" and pinned:
                checks.append((f"{inst.name}: image tag", WARN,
                               f"{inst.image} pins release {pinned.group(1)}: community images "
                               "carry a licence that expires; prefer latest-em / latest-cd"))
            if engine is not None:
                checks.append(check_image(engine, inst))
            if engine is not None:
                checks.extend(check_ports(project, engine, inst))
            checks.extend(check_files(inst))
    checks.append(("driver",) + check_driver())
    checks.append(("licence expiry", WARN, "not checked: irisenv cannot read an expiry date "
                   "from a container yet (a licence error in the log fails sync fast)"))
    failed = any(status == FAIL for _, status, _ in checks)
    if args.json:
        print_json({"ok": not failed, "checks": [{"check": c, "status": s, "detail": d}
                                                  for c, s, d in checks]})
    else:
        for c, s, d in checks:
            print(f"{s.upper():<5} {c:<24} {d}")
    return 1 if failed else 0
