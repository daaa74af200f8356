"""The run spec of a desired container (irisenv/core/runspec.py): the IRIS knowledge of how
an instance's container is made (iris-main's flags, the environment IRIS reads, the files
irisenv copies in and their owner), as neutral data the engine only translates."""
from __future__ import annotations

import subprocess

import pytest

from irisenv.config.model import Config, Instance, Ports
from irisenv.core import desired as D
from irisenv.core import labels as L
from irisenv.core.runspec import (AFTER_WATCH, WATCH_SCRIPT, Files, PortBinding, RunSpec,
                                  VolumeMount, run_spec)

CFG = Config(project="demo", instances={})
FLAGS = ("--check-caps", "false", "--ISCAgent", "false", "--after", AFTER_WATCH)


def make(**kw) -> D.DesiredContainer:
    files = {k: kw.pop(k) for k in ("license_bytes", "merge_bytes") if k in kw}
    return D.desired_container(CFG, Instance(name="iris", image="img:1", **kw),
                               first_boot_merge=b"[boot]", **files)


def test_an_instance_at_its_defaults():
    d = make()
    assert run_spec(d, d.name) == RunSpec(
        name="demo-iris", image="img:1", command=FLAGS,
        env={"ISC_CPF_MERGE_FILE": "/home/irisowner/irisenv/merge.cpf"}, labels=d.labels,
        ports=(PortBinding(1972, "127.0.0.1", None), PortBinding(52773, "127.0.0.1", None)),
        memory=2 * 1024**3, nano_cpus=0, stop_timeout=60,
        files=Files({"/home/irisowner/irisenv/merge.cpf": b"[boot]"}, owner=51773))


def test_durable_storage_a_licence_and_limits():
    d = make(storage="volume", cpus=1.5, memory=3 * 1024**3, env={"TZ": "UTC"},
             stop_timeout=7.5, ports=Ports(superserver=41972, web=False, host_ip="0.0.0.0"),
             license_bytes=b"KEY")
    spec = run_spec(d, L.temp_name("demo", "iris"))
    assert spec.name == "demo-iris-irisenv-new" and spec.labels == d.labels
    assert spec.command == FLAGS + ("--key", "/home/irisowner/irisenv/iris.key")
    assert spec.env == {"TZ": "UTC", "ISC_CPF_MERGE_FILE": "/home/irisowner/irisenv/merge.cpf",
                        "ISC_DATA_DIRECTORY": "/irisenv-data/iris"}
    assert spec.ports == (PortBinding(1972, "0.0.0.0", 41972),)  # web = false: not published
    assert (spec.memory, spec.nano_cpus, spec.stop_timeout) == (3 * 1024**3, 1_500_000_000, 7)
    assert spec.volumes == (VolumeMount("demo-iris-data", "/irisenv-data", {
        L.MANAGED_BY: "irisenv", L.PROJECT: "demo", L.INSTANCE: "iris"}),)
    assert spec.tmpfs == {}
    # the durable %SYS directory inside the volume is made for irisowner, with the files
    assert spec.files == Files({"/home/irisowner/irisenv/merge.cpf": b"[boot]",
                                "/home/irisowner/irisenv/iris.key": b"KEY"},
                               owner=51773, dirs=("/irisenv-data/iris",))


def test_tmpfs_storage_is_mounted_for_irisowner():
    spec = run_spec(make(storage="tmpfs", ports=Ports(web=52000)), "demo-iris")
    assert spec.tmpfs == {"/irisenv-data": "uid=51773,gid=51773,mode=0700"}
    assert spec.env["ISC_DATA_DIRECTORY"] == "/irisenv-data" and spec.volumes == ()
    assert spec.files.dirs == ()
    assert spec.ports[1] == PortBinding(52773, "127.0.0.1", 52000)


def _after_hook(script):
    """The --after command with the watcher at ``script`` instead of the container's path."""
    assert AFTER_WATCH.count(WATCH_SCRIPT) == 2
    return AFTER_WATCH.replace(WATCH_SCRIPT, str(script))


@pytest.mark.parametrize("runner", [
    ["sh", "-c"],  # how the stand-in's iris-main (and a shell-based one) runs it
    # the intersystemsdc images' docker-entrypoint.sh evals each --after in bash under set -e
    # before its own init: the hook must neither fail nor exit that shell
    ["bash", "-c", 'set -Eeo pipefail; eval "$1"; echo init-ran', "x"],
])
def test_the_after_hook_starts_the_watcher_if_present_and_never_fails(tmp_path, runner):
    script = tmp_path / "watch.sh"
    res = subprocess.run([*runner, _after_hook(script)], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0 and res.stderr == ""  # no watcher installed: nothing happens
    assert res.stdout == ("init-ran\n" if runner[0] == "bash" else "")
    script.write_text('echo "$@" >"$(dirname "$0")/called"; exit 3\n')  # even a failing start
    res = subprocess.run([*runner, _after_hook(script)], capture_output=True, text=True, timeout=10)
    assert res.returncode == 0 and (tmp_path / "called").read_text() == "start\n"
    assert res.stdout == ("init-ran\n" if runner[0] == "bash" else "")

