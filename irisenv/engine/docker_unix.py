"""Docker's HTTP API over a local unix socket, without docker-py: the calls of the hot
paths (observe and exec; create, copy, start, the log and remove, of a cold sync, which
takes and releases the engine-side lock), for the
Docker backend (engine/docker.py).

Why: importing docker-py (docker, requests, urllib3) costs more than a no-op `irisenv
plan` may spend in all (docs/performance.md). A local engine is the common case, and
these calls are plain HTTP/1.1 with JSON, plus exec's upgraded connection.

:class:`UnixClient` mirrors the part of docker-py's ``APIClient`` the backend calls for
them (:data:`SERVES`: the same method names, arguments and return values), so each
backend method is written once, and ``DockerEngine`` routes each call to this client or to
docker-py. Everything else (stop, rename, pull...) and every other endpoint kind
(TCP+TLS, ssh, npipe) stay with docker-py.

Errors: an answer with an error status raises :class:`APIError` (status and Docker's
message, as docker-py's ``APIError`` carries them); no answer (no socket, refused, timed
out, closed) raises :class:`Unreachable`. The backend classifies both like docker-py's.
Each request opens its own connection (a unix socket connects in microseconds), so the
client is safe to share between threads.
"""
from __future__ import annotations

import json
import os
import socket
import struct
from urllib.parse import quote, urlencode

# The methods of docker-py's APIClient this client implements (engine/docker.py routes by name)
SERVES = frozenset({"containers", "inspect_container", "inspect_image", "volumes", "version",
                    "exec_create", "exec_start", "exec_inspect",
                    "create_container", "put_archive", "start", "create_volume", "logs",
                    "remove_container", "import_image_from_data", "rename",
                    "connect_container_to_network", "disconnect_container_from_network"})


class APIError(Exception):
    """Docker answered with an error status (as docker-py's APIError: status_code,
    explanation)."""

    def __init__(self, status_code: int, explanation: str):
        super().__init__(f"{status_code}: {explanation}")
        self.status_code = status_code
        self.explanation = explanation


class Unreachable(Exception):
    """No answer from the engine (the socket is missing or refused, the engine closed the
    connection, or it did not answer in time)."""


class Hijacked:
    """An exec's upgraded connection: ``_sock`` is the socket (for timeouts, writing stdin
    and half-closing, as docker-py's exec socket has it), ``read1`` reads the output,
    first what arrived with the response's head."""

    def __init__(self, sock: socket.socket, reader):
        self._sock = sock
        self._reader = reader
        self.read1 = reader.read1

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._sock.close()


class UnixClient:
    def __init__(self, path: str, version: str, timeout: float = 60):
        self.path = path
        self.timeout = timeout
        self.api_version = version  # /v<version>/ in every path; engine/docker.py may change it

    def close(self) -> None:
        pass  # no connection outlives its request

    # ------------------------------------------------------------ docker-py's names
    def containers(self, all: bool = False, filters: dict | None = None) -> list:  # noqa: A002
        params = {"limit": -1, "all": 1 if all else 0, "size": 0, "trunc_cmd": 0}
        if filters:
            params["filters"] = _filters(filters)
        return self._json("GET", "/containers/json", params=params)

    def inspect_container(self, container: str) -> dict:
        return self._json("GET", f"/containers/{_q(container)}/json")

    def inspect_image(self, image: str) -> dict:
        return self._json("GET", f"/images/{_q(image)}/json")

    def volumes(self, filters: dict | None = None) -> dict:
        return self._json("GET", "/volumes", params={"filters": _filters(filters)}
                          if filters else None)

    def version(self, api_version: bool = True) -> dict:
        return self._json("GET", "/version", versioned=api_version)

    def exec_create(self, container: str, cmd: list, stdout: bool = True, stderr: bool = True,
                    stdin: bool = False, tty: bool = False, privileged: bool = False,
                    user: str = "", environment: dict | None = None) -> dict:
        env = None if environment is None else [f"{k}={v}" for k, v in environment.items()]
        return self._json("POST", f"/containers/{_q(container)}/exec", body={
            "Container": container, "User": user, "Privileged": privileged, "Tty": tty,
            "AttachStdin": stdin, "AttachStdout": stdout, "AttachStderr": stderr,
            "Cmd": list(cmd), "Env": env})

    def exec_start(self, exec_id: str, socket: bool = False) -> Hijacked:  # noqa: A002
        """The exec's upgraded connection (only socket=True, the one form the backend uses)."""
        if not socket:
            raise NotImplementedError("exec_start without socket=True")
        return self._request("POST", f"/exec/{_q(exec_id)}/start",
                             body={"Tty": False, "Detach": False}, upgrade=True)

    def exec_inspect(self, exec_id: str) -> dict:
        return self._json("GET", f"/exec/{_q(exec_id)}/json")

    def create_container(self, image: str, command=None, hostname=None, detach=False,
                         ports=None, environment=None, name=None, host_config=None,
                         labels=None, stop_timeout=None) -> dict:
        """docker-py's create_container for these arguments: its ContainerConfig, with the
        proxy variables of the Docker client's config put first in the environment."""
        env = environment
        if isinstance(env, dict):
            env = [f"{k}={v}" for k, v in env.items()]
        env = (proxy_environment() + list(env or [])) or None
        exposed = None
        if isinstance(ports, list):
            exposed = {}
            for port in ports:
                port, proto = port if isinstance(port, tuple) else (port, "tcp")
                exposed[f"{port}/{proto}"] = {}
        return self._json("POST", "/containers/create", params={"name": name} if name else None,
                          body={
            "Hostname": hostname, "Domainname": None, "ExposedPorts": exposed, "User": None,
            "Tty": False, "OpenStdin": False, "StdinOnce": False, "AttachStdin": False,
            "AttachStdout": not detach, "AttachStderr": not detach, "Env": env,
            "Cmd": command, "Image": image, "Volumes": None, "NetworkDisabled": False,
            "Entrypoint": None, "WorkingDir": None, "HostConfig": host_config,
            "NetworkingConfig": None, "MacAddress": None, "Labels": labels,
            "StopSignal": None, "Healthcheck": None, "StopTimeout": stop_timeout,
            "Runtime": None})

    def put_archive(self, container: str, path: str, data: bytes) -> bool:
        self._request("PUT", f"/containers/{_q(container)}/archive", params={"path": path},
                      body=data)
        return True  # an error status raises

    def start(self, container: str) -> None:
        self._request("POST", f"/containers/{_q(container)}/start")

    def rename(self, container: str, name: str) -> None:
        self._request("POST", f"/containers/{_q(container)}/rename", params={"name": name})

    def connect_container_to_network(self, container: str, net_id: str) -> None:
        self._request("POST", f"/networks/{_q(net_id)}/connect",
                      body={"Container": container, "EndpointConfig": {}})

    def disconnect_container_from_network(self, container: str, net_id: str,
                                          force: bool = False) -> None:
        self._request("POST", f"/networks/{_q(net_id)}/disconnect",
                      body={"Container": container, "Force": force})

    def remove_container(self, container: str, v: bool = False, link: bool = False,
                         force: bool = False) -> None:
        self._request("DELETE", f"/containers/{_q(container)}",
                      params={"v": 1 if v else 0, "link": 1 if link else 0,
                              "force": 1 if force else 0})

    def import_image_from_data(self, data: bytes, repository=None, tag=None,
                               changes=None) -> str:
        """docker-py's: ``docker import`` of the tar ``data`` (the engine's progress
        messages, as text)."""
        params = [("repo", repository), ("tag", tag), ("fromSrc", "-")]
        params += [("changes", c) for c in changes or ()]
        return self._request("POST", "/images/create",
                             params=[(k, v) for k, v in params if v is not None],
                             body=data).decode("utf-8", "replace")

    def create_volume(self, name: str, driver=None, driver_opts=None, labels=None) -> dict:
        return self._json("POST", "/volumes/create", body={
            "Name": name, "Driver": driver, "DriverOpts": driver_opts, "Labels": labels})

    def logs(self, container: str, stdout: bool = True, stderr: bool = True,
             stream: bool = False, timestamps: bool = False, tail="all", since=None,
             follow=None):
        """docker-py's logs: the payloads of the log's frames (stdout and stderr, as the
        engine multiplexes them), all of them as bytes, or with stream=True as they come
        (an iterator of bytes with close(), without a read timeout, as docker-py's). A TTY
        container's log is not multiplexed: its bytes as they are."""
        if follow is None:
            follow = stream
        if tail != "all" and (not isinstance(tail, int) or tail < 0):
            tail = "all"
        params = {"stderr": 1 if stderr else 0, "stdout": 1 if stdout else 0,
                  "timestamps": 1 if timestamps else 0, "follow": 1 if follow else 0,
                  "tail": tail}
        if since is not None:
            if not isinstance(since, (int, float)) or since <= 0:
                raise ValueError(f"since value should be a positive int/float, not {since!r}")
            params["since"] = since
        tty = bool((self.inspect_container(container).get("Config") or {}).get("Tty"))
        response = self._request("GET", f"/containers/{_q(container)}/logs", params=params,
                                 stream=True)
        if stream:
            return response.frames(tty)
        try:
            data = b"".join(iter(lambda: response.read(65536), b""))
        finally:
            response.close()
        return data if tty else b"".join(_payloads(data))

    # ------------------------------------------------------------ HTTP/1.1
    def _json(self, method: str, path: str, **kwargs):
        data = self._request(method, path, **kwargs)
        return json.loads(data) if data.strip() else None

    def _request(self, method: str, path: str, *, params=None, body=None, versioned=True,
                 upgrade=False, stream=False):
        target = (f"/v{self.api_version}" if versioned else "") + path
        if params:
            target += "?" + urlencode(params)
        raw = isinstance(body, bytes)
        data = body if raw else b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {target} HTTP/1.1", "Host: docker", "User-Agent: irisenv",
                f"Content-Length: {len(data)}"]
        if body is not None:
            head.append(f"Content-Type: application/{'x-tar' if raw else 'json'}")
        head += ["Connection: Upgrade", "Upgrade: tcp"] if upgrade else ["Connection: close"]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        reader = None
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
            reader = sock.makefile("rb")
            status, headers = _head(reader)
            if upgrade and status in (101, 200):
                hijacked = Hijacked(sock, reader)
                sock = reader = None  # the caller's now
                return hijacked
            if stream and status < 400:
                sock.settimeout(None)  # a followed log may be quiet for long (as docker-py)
                body = Streamed(sock, reader, headers)
                sock = reader = None  # the caller's now
                return body
            payload = _body(reader, headers)
        except OSError as exc:  # incl. timeouts
            raise Unreachable(f"{exc.__class__.__name__}: {exc} ({self.path})") from None
        finally:
            if reader is not None:
                reader.close()
            if sock is not None:
                sock.close()
        if status >= 400:
            raise APIError(status, _message(payload))
        return payload


class Streamed:
    """A response body read as it comes (chunked or not), until the engine ends it or
    close() is called (from any thread: it shuts the socket, so a blocked read returns)."""

    def __init__(self, sock: socket.socket, reader, headers: dict):
        self._sock, self._reader = sock, reader
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._left = None if self._chunked else (
            int(headers["content-length"]) if "content-length" in headers else -1)
        self._done = False

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the body; b"" at its end."""
        if self._done:
            return b""
        if self._chunked:
            if not self._left:
                size = int(self._reader.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self._done = True
                    return b""
                self._left = size
            data = self._reader.read1(min(n, self._left))
            self._left -= len(data)
            if self._left == 0:
                self._reader.readline(65537)  # the CRLF after the chunk
        elif self._left == -1:  # up to the close
            data = self._reader.read1(n)
        else:
            data = self._reader.read1(min(n, self._left)) if self._left else b""
            self._left -= len(data)
        if not data:
            self._done = True
        return data

    def exactly(self, n: int) -> bytes:
        """``n`` bytes, or fewer at the body's end."""
        out = b""
        while len(out) < n:
            data = self.read(n - len(out))
            if not data:
                break
            out += data
        return out

    def frames(self, tty: bool = False) -> LogStream:
        return LogStream(self, tty)

    def close(self) -> None:
        self._done = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._reader.close()
        except (OSError, ValueError):
            pass
        self._sock.close()


class LogStream:
    """The payloads of a multiplexed stream's frames as they come (8-byte headers: stream
    id, size), or a TTY's bytes as they are; close() ends it."""

    def __init__(self, body: Streamed, tty: bool):
        self._body, self._tty = body, tty

    def __iter__(self):
        try:
            while True:
                if self._tty:
                    data = self._body.read(4096)
                    if not data:
                        return
                    yield data
                    continue
                header = self._body.exactly(8)
                if len(header) < 8:
                    return
                size = struct.unpack(">BxxxL", header)[1]
                if not size:
                    continue
                data = self._body.exactly(size)
                if not data:
                    return
                yield data
        except (OSError, ValueError):  # closed meanwhile (close() from another thread)
            if not self._body._done:
                raise Unreachable("the engine closed the log stream") from None

    def close(self) -> None:
        self._body.close()


def _payloads(data: bytes):
    """The payloads of a multiplexed stream's frames, from all of it."""
    at = 0
    while len(data) - at >= 8:
        size = struct.unpack_from(">BxxxL", data, at)[1]
        yield data[at + 8:at + 8 + size]
        at += 8 + size


def config_file() -> str | None:
    """The Docker client's config file, where docker-py looks (docker/utils/config.py):
    $DOCKER_CONFIG/config.json, ~/.docker/config.json, ~/.dockercfg; the first that exists."""
    home = os.path.expanduser("~")
    for path in (os.path.join(os.environ["DOCKER_CONFIG"], "config.json")
                 if os.environ.get("DOCKER_CONFIG") else None,
                 os.path.join(home, ".docker", "config.json"), os.path.join(home, ".dockercfg")):
        if path and os.path.exists(path):
            return path
    return None


def general_config() -> dict:
    """The config file's contents ({} when there is none or it is not JSON), as docker-py's
    load_general_config reads it."""
    path = config_file()
    if path is None:
        return {}
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def proxy_environment() -> list[str]:
    """The "default" proxies of the Docker client's config as the variables docker-py puts
    into a container it creates (docker/utils/proxy.py): HTTP_PROXY and http_proxy, ...."""
    proxies = (general_config().get("proxies") or {}).get("default") or {}
    env = []
    for key, name in (("httpProxy", "http_proxy"), ("httpsProxy", "https_proxy"),
                      ("ftpProxy", "ftp_proxy"), ("noProxy", "no_proxy")):
        if proxies.get(key):
            env += [f"{name}={proxies[key]}", f"{name.upper()}={proxies[key]}"]
    return env


def _q(part: str) -> str:
    if not isinstance(part, str):
        raise ValueError(f"Expected a string but found {part!r} ({type(part)}) instead")
    return quote(part, safe="/:")  # as docker-py quotes a path argument


def _filters(filters: dict) -> str:
    """docker-py's convert_filters: every value a list of strings, as JSON."""
    out = {}
    for k, v in filters.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        if not isinstance(v, list):
            v = [v]
        out[k] = [item if isinstance(item, str) else str(item) for item in v]
    return json.dumps(out)


def _head(reader) -> tuple[int, dict]:
    line = reader.readline(65537)
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP answer: {line[:80]!r}")
    headers = {}
    while True:
        line = reader.readline(65537)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def _body(reader, headers: dict) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size = int(reader.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(out)
            out += _exactly(reader, size)
            reader.readline(65537)  # the CRLF after each chunk
    if "content-length" in headers:
        return _exactly(reader, int(headers["content-length"]))
    return reader.read()  # Connection: close: the body ends with the connection


def _exactly(reader, n: int) -> bytes:
    data = reader.read(n)
    if len(data) != n:
        raise ConnectionError(f"the engine closed the connection ({len(data)} of {n} bytes)")
    return data


def _message(payload: bytes) -> str:
    text = payload.decode("utf-8", "replace")
    try:
        return json.loads(text)["message"]
    except (ValueError, KeyError, TypeError):
        return text.strip()
