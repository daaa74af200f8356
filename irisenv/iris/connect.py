"""DB-API connections through intersystems-irispython (imported only here, lazily).

Driver errors are classified by their text (docs/learnings/passwords.md, "irisenv.connect()
and the driver's texts"): refused / not ready → retry within the timeout; "Password change
required" → converge the user once, then retry; "Access Denied" → an error naming the user,
the address and the three causes the text can mean (never the password).
"""
from __future__ import annotations

import time

from ..errors import IrisenvError, NotReadyError

PASSWORD_CHANGE = "password change required"
ACCESS_DENIED = "access denied"


def classify(message: str) -> str:
    """'password_change' | 'access_denied' | 'not_ready' for a driver error text."""
    text = message.lower()
    if PASSWORD_CHANGE in text:
        return "password_change"
    if ACCESS_DENIED in text:
        return "access_denied"
    return "not_ready"


def driver():
    try:
        import iris.dbapi  # intersystems-irispython
    except ImportError as exc:
        raise IrisenvError("the InterSystems IRIS Python driver is not installed",
                           f"import iris.dbapi failed: {exc}",
                           "pip install 'irisenv[driver]' (intersystems-irispython); if it is "
                           "installed, run `irisenv doctor` to look for a package clash") from None
    if not hasattr(iris.dbapi, "connect"):
        raise IrisenvError("the installed `iris` package is not the InterSystems driver",
                           "another distribution provides a module named iris (a known clash: "
                           "sqlalchemy-iris installed after intersystems-irispython)",
                           "pip install --force-reinstall intersystems-irispython; see `irisenv doctor`")
    return iris.dbapi


def open_connection(conn, *, timeout: float = 60.0, remediate=None, connect_timeout: int = 10):
    """Connect to ``conn`` (a project.Connection). ``remediate()`` is called once when IRIS
    answers "Password change required"."""
    dbapi = driver()
    deadline = time.monotonic() + timeout
    remediated = False
    last = ""
    while True:
        try:
            return dbapi.connect(hostname=conn.host, port=int(conn.port), namespace=conn.namespace,
                                 username=conn.username, password=conn.password,
                                 timeout=connect_timeout, sharedmemory=False)
        except Exception as exc:  # the driver raises RuntimeError or dbapi.OperationalError
            last = str(exc)
            kind = classify(last)
        if kind == "access_denied":
            raise IrisenvError(
                f"IRIS at {conn.host}:{conn.port} refused user {conn.username} (instance "
                f"{conn.instance}): Access Denied",
                "the driver says this for wrong credentials, but also when the server accepts "
                "TLS connections only, and when another server answers on that host and port "
                "(a stale or wrong port mapping)",
                f"run `irisenv sync` (it sets and verifies the password) and check "
                f"[instances.{conn.instance}.credentials] and any ${{VAR}} it reads; check that "
                f"`irisenv status` shows port {conn.port} for {conn.instance}; a TLS-only "
                "instance (set up by your own merge file) needs a connection with an SSL "
                "configuration, which irisenv.connect() does not make")
        if kind == "password_change" and not remediated and remediate is not None:
            remediated = True
            remediate()
            continue
        if kind == "password_change":
            raise IrisenvError(f"IRIS requires a password change for {conn.username} on "
                               f"instance {conn.instance}", "the account is marked ChangePassword",
                               "run `irisenv sync`, which clears it and verifies the login")
        if time.monotonic() >= deadline:
            raise NotReadyError(f"could not connect to instance {conn.instance} at "
                                f"{conn.host}:{conn.port}/{conn.namespace} within {timeout:g}s",
                                f"the driver said: {last.strip()}",
                                "check `irisenv status` and `irisenv logs`; raise the timeout "
                                "(connect(timeout=...); in pytest --irisenv-connect-timeout)")
        time.sleep(0.5)
