"""examples/schema's declared init, synced on the stand-in: its class, its SQL schema and
its seed go into APP as the example's README says, and an unchanged init plans nothing.

The example's own tests query the tables over SQL, which the stand-in does not serve;
they are for real IRIS (examples/schema/README.md). What runs here is irisenv's part:
every entry applied, in order, with its %Status or SQLCODE checked."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid

from helpers import STANDIN_IMAGE, describe
from test_integrations import EXAMPLES, clean_env

IMAGE = "containers.intersystems.com/intersystems/iris-community:latest-em"


def test_the_schema_example_initialises_app_on_the_standin(tmp_path, client):
    root = tmp_path / "schema"
    shutil.copytree(EXAMPLES / "schema", root, ignore=shutil.ignore_patterns("__pycache__"))
    config = root / "iris-devtester.toml"
    name = f"t-schema-{uuid.uuid4().hex[:8]}"
    text = config.read_text(encoding="utf-8")
    text, n = re.subn(r'(?m)^name = "example-schema"$', f'name = "{name}"', text)
    assert n == 1 and f'image = "{IMAGE}"' in text
    text = text.replace(f'image = "{IMAGE}"',
                        f'image = "{STANDIN_IMAGE}"\nenv = {{ STANDIN_BOOT_SECONDS = "0" }}')
    config.write_text(text, encoding="utf-8")
    env = clean_env()

    def irisenv(*args):
        return subprocess.run([sys.executable, "-m", "irisenv", *args], cwd=root, env=env,
                              text=True, capture_output=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    try:
        sync = irisenv("sync", "--progress", "plain")
        assert sync.returncode == 0, describe(sync)
        c = client.containers.get(f"{name}-iris")
        script = ('write ##class(%Dictionary.CompiledClass).%ExistsId("App.Pricing"),!\n'
                  'set r=##class(%SQL.Statement).%ExecDirect(,"INSERT INTO App.Customer '
                  '(CustomerNo, Name, Country) VALUES (9, \'x\', \'GB\')") '
                  'write r.%SQLCODE,!\nhalt\n')
        res = subprocess.run(["docker", "exec", "-i", c.id, "iris", "session", "IRIS", "-U",
                              "APP"], input=script, text=True, capture_output=True, timeout=60)
        said = [line.strip().removeprefix("APP>") for line in res.stdout.splitlines()
                if line.strip().startswith("APP>")]
        assert said[:2] == ["1", "0"], res.stdout  # the class compiled; App.Customer exists
        plan = irisenv("plan", "--detailed-exitcode")
        assert plan.returncode == 0, describe(plan)
    finally:
        irisenv("down")
        for leftover in client.containers.list(
                all=True, filters={"label": f"io.irisenv.project={name}"}):
            leftover.remove(force=True)
