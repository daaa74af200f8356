"""The Docker adapter's pure parts: reading `docker inspect` into typed settings."""
from __future__ import annotations

from irisenv.core.observed import Actual
from irisenv.engine.docker import _actual


def test_inspect_is_read_into_real_settings():
    info = {
        "HostConfig": {
            "Memory": 1073741824, "NanoCpus": 0, "CpuQuota": 150000, "CpuPeriod": 100000,
            "PortBindings": {"1972/tcp": [{"HostIp": "", "HostPort": "5000"}],
                             "52773/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                             "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "0"}]},
            "Tmpfs": {"/scratch": "size=64m"},
        },
        "Mounts": [{"Type": "volume", "Name": "demo-iris-data", "Destination": "/irisenv-data"},
                   {"Type": "bind", "Source": "/home/me", "Destination": "/mnt"}],
    }
    assert _actual(info) == Actual(
        memory=1073741824, nano_cpus=1_500_000_000,  # --cpu-quota read as the same limit
        ports=(("1972/tcp", "0.0.0.0", 5000),  # no host IP: every interface
               ("52773/tcp", "127.0.0.1", None),  # Docker-assigned
               ("53/udp", "0.0.0.0", None)),
        mounts={"/irisenv-data": "volume demo-iris-data", "/mnt": "bind /home/me",
                "/scratch": "tmpfs"})


def test_an_unlimited_unpublished_container():
    assert _actual({"HostConfig": {"PortBindings": None, "Tmpfs": None}, "Mounts": None}) == Actual()
