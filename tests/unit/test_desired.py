"""The desired container spec and its hash: the contract every existing container's label
was computed with. A change here recreates every user's containers on their next sync.

GOLDEN HASHES: the literal sha256 values below were computed once and pasted. If one of
these tests fails, you changed what goes into the hash or how it is serialized. If that was
deliberate, bump HASH_FORMAT in irisenv/core/desired.py (so reconcile can say "hash format
2 -> 3" instead of inventing a field diff) and paste the new values here.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from irisenv.config.model import (Config, Credentials, Instance, Monitoring, Namespace, Ports,
                                  Services)
from irisenv.core import desired as D
from irisenv.core import labels as L

CFG = Config(project="demo", instances={})
IMAGE = "intersystemsdc/iris-community:2025.1"


def make(inst: Instance, **kw) -> D.DesiredContainer:
    return D.desired_container(CFG, inst, **kw)


def base(**kw) -> Instance:
    return Instance(name="iris", image=IMAGE, **kw)


# ---------------------------------------------------------------- golden values
GOLDEN_MINIMAL = "91bf22f4f01858c6804a3e48eee6ec4c226bf9fb7675fa8bc1340425ed67c187"
GOLDEN_FULL = "0f717a395d862d69a8204f3bd17da6f68b4dfab62d5fe5acb67ac8fd5632b42a"
GOLDEN_FULL_CANONICAL = (
    '{"cpus":2.0,"edition":"enterprise","env":{"A":"1","TZ":"UTC"},"globals":536870912,'
    '"host_ip":"0.0.0.0","image":"containers.intersystems.com/intersystems/iris:2025.1",'
    '"license_sha256":"5ca24005b740717ba4f3f6bc48a230700e68c2a4b11ecedb96f169f4efaf1f21",'
    '"memory":4294967296,'
    '"merge_sha256":"ee77fdea014c233c189ed9b3081cd402a675711174c7bd0fd87e0bd596365085",'
    '"routines":134217728,"storage":"volume","superserver":41972,"web":false}')


def full_instance() -> Instance:
    return Instance(
        name="iris", image="containers.intersystems.com/intersystems/iris:2025.1",
        edition="enterprise", memory=4 * 1024**3, cpus=2.0, globals=512 * 1024**2,
        routines=128 * 1024**2, storage="volume",
        ports=Ports(superserver=41972, web=False, host_ip="0.0.0.0"),
        env={"TZ": "UTC", "A": "1"})


FULL_FILES = dict(license_bytes=b"KEY", merge_bytes=b"[Startup]\nSystemMode=TEST\n")


def test_hash_format_is_pinned():
    # Bumping it is deliberate; then update the golden values below together.
    assert D.HASH_FORMAT == "2"


def test_golden_hash_minimal():
    d = make(base())
    assert d.spec == {"image": IMAGE}
    assert d.hash == GOLDEN_MINIMAL


def test_golden_hash_full():
    d = make(full_instance(), **FULL_FILES)
    assert D.canonical(d.spec) == GOLDEN_FULL_CANONICAL
    assert d.hash == GOLDEN_FULL


def test_hash_is_sha256_of_canonical_json_with_format():
    d = make(full_instance(), **FULL_FILES)
    doc = '{"format":"2","spec":' + GOLDEN_FULL_CANONICAL + "}"
    assert d.hash == hashlib.sha256(doc.encode()).hexdigest()


def test_hash_independent_of_env_insertion_order():
    a = make(base(env={"A": "1", "B": "2"}))
    b = make(base(env={"B": "2", "A": "1"}))
    assert a.hash == b.hash


# ---------------------------------------------------------------- defaults omitted
def test_all_defaults_give_image_only_spec():
    d = make(base())
    assert d.spec == {"image": IMAGE}
    assert set(d.full_spec()) == set(D.SPEC_DEFAULTS) | {"image"}


@pytest.mark.parametrize("key", sorted(k for k in D.SPEC_DEFAULTS if k not in ("license_sha256",
                                                                                 "merge_sha256")))
def test_model_default_matches_spec_default(key):
    """SPEC_DEFAULTS must agree with the model's defaults, or a zero-config instance would
    carry a non-default key (and a later fix of the mismatch would recreate containers)."""
    d = make(base())
    assert key not in d.spec


def test_optional_key_at_its_default_does_not_change_hash():
    # Spelling a default out explicitly is the same container.
    explicit = base(edition="community", memory=2 * 1024**3, cpus=None, globals=256 * 1024**2,
                    routines=64 * 1024**2, storage="ephemeral",
                    ports=Ports(superserver="auto", web="auto", host_ip="127.0.0.1"), env={})
    assert make(explicit).hash == GOLDEN_MINIMAL


def test_a_future_optional_key_at_its_default_does_not_change_hash(monkeypatch):
    """Simulate irisenv growing a new container-level key: at its default it is omitted,
    so existing containers keep their hash."""
    monkeypatch.setitem(D.SPEC_DEFAULTS, "shm_size", 64 * 1024**2)
    orig = D.normalize

    def normalize(inst, lic, merge):
        spec = orig(inst, lic, merge)
        full = {**spec, "shm_size": 64 * 1024**2}
        return {k: v for k, v in full.items() if k == "image" or D.SPEC_DEFAULTS.get(k) != v}

    monkeypatch.setattr(D, "normalize", normalize)
    assert make(base()).hash == GOLDEN_MINIMAL


# ---------------------------------------------------------------- what changes the hash
CONTAINER_CHANGES = {
    "image": dict(image="intersystemsdc/iris-community:2025.2"),
    "edition": dict(edition="enterprise"),
    "memory": dict(memory=3 * 1024**3),
    "cpus": dict(cpus=1.5),
    "globals": dict(globals=128 * 1024**2),
    "routines": dict(routines=32 * 1024**2),
    "storage volume": dict(storage="volume"),
    "storage tmpfs": dict(storage="tmpfs"),
    "superserver": dict(ports=Ports(superserver=1972)),
    "web port": dict(ports=Ports(web=52773)),
    "web off": dict(ports=Ports(web=False)),
    "host_ip": dict(ports=Ports(host_ip="0.0.0.0")),
    "env add": dict(env={"TZ": "UTC"}),
}


@pytest.mark.parametrize("name", sorted(CONTAINER_CHANGES))
def test_each_container_level_field_changes_the_hash(name):
    inst = base()._replace(**CONTAINER_CHANGES[name])
    d = make(inst)
    assert d.hash != GOLDEN_MINIMAL


def test_all_container_level_changes_give_distinct_hashes():
    hashes = {make(base()._replace(**kw)).hash for kw in CONTAINER_CHANGES.values()}
    assert len(hashes) == len(CONTAINER_CHANGES)


def test_env_value_change_changes_the_hash():
    assert make(base(env={"TZ": "UTC"})).hash != make(base(env={"TZ": "CET"})).hash


IRIS_LEVEL_CHANGES = {
    "password": dict(credentials=Credentials(password="s3cr3t-Pass")),
    "username": dict(credentials=Credentials(username="tester", password="x-y-z-1")),
    "services": dict(services=Services(callin=False)),
    "namespaces": dict(namespaces=(Namespace("APP"), Namespace("TEST", pool=2))),
    "monitoring": dict(monitoring=Monitoring(enabled=False, interval=5.0)),
    "stop_timeout": dict(stop_timeout=5.0),
    "reuse never": dict(reuse="never"),
    "reuse always": dict(reuse="always"),
    "pull always": dict(pull="always"),
    "pull never": dict(pull="never"),
}


@pytest.mark.parametrize("name", sorted(IRIS_LEVEL_CHANGES))
def test_iris_level_changes_do_not_change_the_hash(name):
    inst = base()._replace(**IRIS_LEVEL_CHANGES[name])
    assert make(inst).hash == GOLDEN_MINIMAL


def test_stop_timeout_reuse_and_pull_are_carried_outside_the_spec():
    d = make(base(stop_timeout=7.5, reuse="never", pull="always"))
    assert d.stop_timeout == 7.5 and d.reuse == "never" and d.pull == "always"
    assert "stop_timeout" not in d.spec and "reuse" not in d.spec and "pull" not in d.spec


def test_password_never_in_labels_or_spec():
    password = "Very-Secret-Pw-42"
    d = make(full_instance()._replace(credentials=Credentials("admin", password)), **FULL_FILES)
    blob = json.dumps(d.labels) + D.canonical(d.spec) + json.dumps(d.full_spec())
    assert password not in blob
    assert password not in repr(d)
    assert "admin" not in blob  # the username is IRIS-level too


def test_licence_and_merge_contents_change_the_hash_by_sha256():
    plain = make(base())
    lic = make(base(), license_bytes=b"licence-1")
    lic2 = make(base(), license_bytes=b"licence-2")
    merge = make(base(), merge_bytes=b"[Actions]\nCreateNamespace:Name=APP\n")
    assert len({plain.hash, lic.hash, lic2.hash, merge.hash}) == 4
    assert lic.spec["license_sha256"] == hashlib.sha256(b"licence-1").hexdigest()
    assert merge.spec["merge_sha256"] == hashlib.sha256(
        b"[Actions]\nCreateNamespace:Name=APP\n").hexdigest()
    # contents, not paths: the raw licence never enters the spec or labels
    assert b"licence-1".decode() not in json.dumps(lic.labels)


def test_licence_and_merge_travel_as_files():
    d = make(base(), license_bytes=b"KEYDATA", first_boot_merge=b"[config]\n")
    assert d.files == {D.MERGE_PATH: b"[config]\n", D.KEY_PATH: b"KEYDATA"}
    assert "KEYDATA" not in repr(d)  # files are repr=False
    assert make(base()).files == {D.MERGE_PATH: b""}


def test_first_boot_merge_is_not_in_the_hash():
    """The first-boot file is derived from spec fields (globals/routines) and the user's
    merge file, both already hashed; its own bytes must not add a second dependency."""
    a = make(base(), first_boot_merge=b"[config]\nglobals=0,0,256,0,0,0\n")
    b = make(base(), first_boot_merge=b"")
    assert a.hash == b.hash == GOLDEN_MINIMAL


def test_labels():
    d = make(base())
    assert d.name == L.container_name("demo", "iris") == "demo-iris"
    assert d.labels == {
        "io.irisenv.managed-by": "irisenv",
        "io.irisenv.project": "demo",
        "io.irisenv.instance": "iris",
        "io.irisenv.config-hash": GOLDEN_MINIMAL,
        "io.irisenv.hash-format": "2",
        "io.irisenv.spec": '{"image":"intersystemsdc/iris-community:2025.1"}',
        "io.irisenv.project-dir": str(CFG.base_dir),
    }
    # the port registry's leases are labelled too, outside the spec and its hash
    leased = dataclasses.replace(d, host_ports={"superserver": 41972, "web": 41973})
    assert leased.labels["io.irisenv.ports"] == '{"superserver":41972,"web":41973}'
    assert leased.hash == d.hash and leased.labels["io.irisenv.spec"] == d.labels["io.irisenv.spec"]
    assert L.is_ours(d.labels)
    assert not L.is_ours({}) and not L.is_ours(None)
    assert not L.is_ours({"io.irisenv.managed-by": "someone-else"})



def test_the_config_file_is_labelled_outside_the_spec_and_its_hash(tmp_path):
    """`irisenv ls` names the config file each project was synced from: a label of its own
    (none for the zero-config default), never part of the spec or its hash (moving a
    checkout must not replace its containers)."""
    from pathlib import Path

    here = CFG._replace(path=tmp_path / "iris-devtester.toml")
    there = CFG._replace(path=Path("/elsewhere/iris-devtester.toml"))
    a, b = (D.desired_container(c, base()) for c in (here, there))
    assert a.labels[L.CONFIG_FILE] == str(tmp_path / "iris-devtester.toml")
    assert b.labels[L.CONFIG_FILE] == "/elsewhere/iris-devtester.toml"
    assert a.hash == b.hash == GOLDEN_MINIMAL and a.spec == b.spec
    assert L.CONFIG_FILE not in make(base()).labels

# ---------------------------------------------------------------- diff_specs
def test_diff_specs_fills_defaults_and_sorts():
    old = {"image": IMAGE}
    new = {"image": IMAGE, "memory": 4 * 1024**3, "cpus": 2.0, "env": {"TZ": "UTC"}}
    assert D.diff_specs(old, new) == [
        ("cpus", None, 2.0),
        ("env", {}, {"TZ": "UTC"}),
        ("memory", 2 * 1024**3, 4 * 1024**3),
    ]


def test_diff_specs_back_to_default():
    assert D.diff_specs({"image": IMAGE, "storage": "volume"}, {"image": IMAGE}) == [
        ("storage", "volume", "ephemeral")]


def test_diff_specs_equal_is_empty():
    spec = make(full_instance(), **FULL_FILES).spec
    assert D.diff_specs(dict(spec), dict(spec)) == []


def test_diff_specs_image():
    assert D.diff_specs({"image": "a:1"}, {"image": "a:2"}) == [("image", "a:1", "a:2")]


def test_diff_specs_unknown_old():
    [(key, old, new)] = D.diff_specs(None, {"image": IMAGE})
    assert key == "spec" and "unknown" in old
