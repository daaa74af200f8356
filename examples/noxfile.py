"""A noxfile that gets its IRIS test database from irisenv.

    pip install nox irisenv            # irisenv must be importable by nox itself
    nox -s env                         # sync, then print what the session received
    nox -s tests                       # sync, then run pytest on tests/ (with the plugin)
    nox -s tests -- -m "not iris"      # extra pytest arguments after --

`irisenv.session(session)` runs `irisenv sync` for iris-devtester.toml (found walking up
from this file's directory, or named by $IRISENV_CONFIG; a relative $IRISENV_CONFIG is
taken from the directory you ran nox in) -- a converged project costs one
container list and one IRIS probe -- then puts IRIS_HOST, IRIS_PORT, IRIS_WEB_PORT,
IRIS_NAMESPACE, IRIS_USERNAME, IRIS_PASSWORD, IRIS_URL and IRIS_CONTAINER into
session.env, so every command the session runs sees them. It also returns them as an
irisenv.project.Connection. Several nox (or pytest) processes at once are serialized by
irisenv's project lock. When irisenv fails (an invalid config, a failed sync), the session
is aborted with irisenv's what/why/fix as nox's reason, without a traceback.

The sessions here use `python=False` (nox's own interpreter, no virtualenv), so the commands
run with the Python that has irisenv and its test dependencies. With a virtualenv per
session instead, call `session.install(...)` first as usual; irisenv.session() itself runs
inside the nox process either way.
"""
from __future__ import annotations

import os
import sys

import nox

import irisenv

nox.options.sessions = ["tests"]
HERE = os.path.dirname(os.path.abspath(__file__))

# A program that reads the connection variables the way a test suite or an app would.
SHOW_ENV = r"""
import os
from urllib.parse import urlsplit
for key in ("IRIS_HOST", "IRIS_PORT", "IRIS_NAMESPACE", "IRIS_USERNAME", "IRIS_CONTAINER"):
    print(f"{key}={os.environ[key]}")
url = urlsplit(os.environ["IRIS_URL"])  # iris://user:password@host:port/NAMESPACE
print(f"IRIS_URL={url.scheme}://{url.username}:********@{url.hostname}:{url.port}{url.path}")
print(f"IRIS_PASSWORD=<hidden, {len(os.environ['IRIS_PASSWORD'])} characters>")
"""


@nox.session(python=False)
def env(session):
    """Sync, then show (without the password) what the session's commands receive."""
    conn = irisenv.session(session)
    session.log(f"IRIS instance {conn.instance} at {conn.host}:{conn.port}/{conn.namespace}")
    session.run(sys.executable, "-c", SHOW_ENV)


@nox.session(python=False)
def tests(session):
    """Sync once here; the pytest plugin then finds the project converged (no second
    create), and the tests read the same instance."""
    irisenv.session(session)
    session.run(sys.executable, "-m", "pytest", os.path.join(HERE, "tests"),
                *session.posargs)
