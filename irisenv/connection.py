"""How to reach an instance: the connection details (`irisenv env`, nox, pytest), the check
that a namespace handed out is declared, and a DB-API connection with its one remediation
(a "Password change required" answered by converging the user)."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from .core import labels as L
from .core.desired import SUPERSERVER_PORT, WEB_PORT
from .errors import IrisenvError


@dataclass(frozen=True)
class Connection:
    """How to reach one instance. ``password`` is data for programs: never log it."""

    instance: str
    container: str
    host: str
    port: int | None
    web_port: int | None
    namespace: str
    username: str
    password: str = field(repr=False)
    container_id: str = ""  # the container's engine id when listed ("" unknown)

    @property
    def url(self) -> str:
        return (f"iris://{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
                f"{self.host}:{self.port}/{self.namespace}")

    def env(self) -> dict:
        return {"IRIS_HOST": self.host, "IRIS_PORT": str(self.port or ""),
                "IRIS_WEB_PORT": str(self.web_port or ""), "IRIS_NAMESPACE": self.namespace,
                "IRIS_USERNAME": self.username, "IRIS_PASSWORD": self.password,
                "IRIS_URL": self.url, "IRIS_CONTAINER": self.container}


def details(project, instance: str | None = None, namespace: str | None = None) -> Connection:
    """The connection details of a running instance (ports as the engine published them)."""
    endpoint = project.engine.endpoint
    problem = unreachable(endpoint, project.config.instance(instance))
    if problem is not None:  # a container published there (by hand, or an older irisenv)
        raise IrisenvError(*problem)
    inst = placed(endpoint, project.config.instance(instance))
    name = L.container_name(project.name, inst.name)
    c = next((c for c in project.engine.list_project(project.name) if c.name == name), None)
    if c is None or c.state != "running":
        raise IrisenvError(f"instance {inst.name} is not running"
                           + ("" if c is None else f" (container {name} is {c.state})"),
                           "connection details come from the running container",
                           "run `irisenv sync` first")
    return Connection(instance=inst.name, container=name, host=host(endpoint, inst),
                      port=c.ports.get(SUPERSERVER_PORT), web_port=c.ports.get(WEB_PORT),
                      namespace=(namespace or inst.default_namespace),
                      username=inst.credentials.username, password=inst.credentials.password,
                      container_id=c.id)


ENGINE_HOST = "engine-host"  # host_ip's value for "the engine host's address" (config/kinds.py)
_WILDCARDS = ("0.0.0.0", "::")


def published_ip(endpoint: str, inst) -> str:
    """The host address the instance's ports are published on, as Docker takes it:
    ``host_ip``, with "engine-host" worked out for the engine at ``endpoint`` (127.0.0.1
    for a local engine, else the engine host's address as this machine resolves it)."""
    ip = inst.ports.host_ip
    if ip != ENGINE_HOST:
        return ip
    from .engine import publish_address

    return publish_address(endpoint)


def placed(endpoint: str, inst):
    """``inst`` with ``host_ip`` as published on the engine at ``endpoint`` (the record
    the desired state and IRIS_HOST are worked out from)."""
    ip = published_ip(endpoint, inst)
    return inst if ip == inst.ports.host_ip else inst._replace(
        ports=inst.ports._replace(host_ip=ip))


def host(endpoint: str, inst) -> str:
    """The host a client on this machine reaches the instance's published ports at: the
    address they are published on; for a wildcard (0.0.0.0, ::), the engine's host
    (127.0.0.1 for a local engine)."""
    from .engine import engine_host

    ip = published_ip(endpoint, inst)
    return engine_host(endpoint) if ip in _WILDCARDS else ip


def unreachable(endpoint: str, inst) -> tuple[str, str, str] | None:
    """(what, why, fix) when the instance's ports would be published where this machine
    cannot reach them: a loopback host_ip on a remote engine (the engine host's own
    loopback). None when they are reachable (as far as the endpoint tells)."""
    import ipaddress

    from .engine import engine_host, is_remote

    ip = inst.ports.host_ip
    if ip == ENGINE_HOST or not is_remote(endpoint) or not ipaddress.ip_address(ip).is_loopback:
        return None
    there = engine_host(endpoint)
    return (f"ports.host_ip {ip} cannot be reached from this machine: the engine at "
            f"{endpoint} is remote",
            f"Docker publishes the ports on the engine's host, {there}, and {ip} there is its "
            "own loopback; irisenv does not widen where IRIS listens by itself",
            f'set host_ip = "{ENGINE_HOST}" in [instances.{inst.name}.ports] (publishes on '
            f"{there}'s address as this machine reaches it; 127.0.0.1 with a local engine), "
            f'or an address of {there}, or "0.0.0.0" (all its interfaces): each makes IRIS '
            "reachable from that network")


def declared_namespace(config, instance: str | None, namespace: str) -> str:
    """``namespace`` (upper-cased) when the instance declares it or it is built in (USER),
    else an error listing the declared ones. For `irisenv env` and irisenv.session(),
    which hand out a URL from the config: a namespace that does not exist is a mistake
    there. (connect() takes any name, e.g. a test run's own namespace.)"""
    from .errors import did_you_mean
    from .names import BUILTIN_NAMESPACES

    inst = config.instance(instance)
    name = namespace.upper()
    declared = [ns.name for ns in inst.namespaces]
    if name in declared or name in BUILTIN_NAMESPACES:
        return name
    allowed = declared + sorted(BUILTIN_NAMESPACES - set(declared))
    hint = did_you_mean(name, allowed)
    raise IrisenvError(f"namespace {namespace} is not declared for instance {inst.name}",
                       f"instance {inst.name} declares: {', '.join(declared) or 'none'}; "
                       f"{', '.join(sorted(BUILTIN_NAMESPACES))} always exists"
                       + (f"; {hint}" if hint else ""),
                       f"pass one of {', '.join(allowed)}, or declare it with "
                       f"[instances.{inst.name}.namespaces.{name}] and run `irisenv sync`")


def connect(project, instance: str | None = None, namespace: str | None = None, *,
            timeout: float = 60.0):
    """A DB-API connection (intersystems-irispython) to a running instance."""
    from .iris.connect import open_connection

    conn = details(project, instance, namespace)
    return open_connection(conn, timeout=timeout,
                           remediate=lambda: converge_user(project, conn.instance))


def converge_user(project, instance: str) -> None:
    """Set and verify the configured user's password now (remediation for a driver's
    "Password change required")."""
    from .core.iris_plan import EnsureUser, migration, record_changes
    from .iris import converge, probe

    want = project.iris_desired()[instance]
    cid = project.container_id(instance)
    password = project.passwords()[instance]
    seen = probe.observe(project.engine, cid, want, password)
    actions = (EnsureUser(want.username, ("password change required",)),) + migration(seen)
    converge.converge(project.engine, cid, want, password, actions,
                      record_changes(seen, actions))
