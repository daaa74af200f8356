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


def api_error(status: int, explanation: str):
    import docker.errors
    import requests

    resp = requests.Response()
    resp.status_code = status
    return docker.errors.APIError(f"{status} error", response=resp, explanation=explanation)


def test_a_taken_host_port_is_classified_with_its_number():
    from irisenv.engine.docker import classify
    from irisenv.errors import PortInUseError

    err = classify(api_error(500, "driver failed programming external connectivity on endpoint "
                                  "demo-iris: Error starting userland proxy: listen tcp4 "
                                  "127.0.0.1:40123: bind: address already in use"))
    assert isinstance(err, PortInUseError) and err.port == 40123
    assert err.what == "host port 40123 is already in use"
    err = classify(api_error(500, "Ports are not available: port is already allocated"))
    assert isinstance(err, PortInUseError) and err.port is None
