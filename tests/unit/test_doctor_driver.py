"""doctor's driver check: the sqlalchemy-iris / intersystems-irispython clash (installing
sqlalchemy-iris after the driver breaks `iris.connect`: caretdev/sqlalchemy-iris issue #31)."""
import sys
import types

from irisenv.cli import doctor_cmd


def _fake_versions(monkeypatch, versions: dict):
    from importlib import metadata

    def version(dist):
        if dist in versions:
            return versions[dist]
        raise metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(metadata, "version", version)


def test_missing_driver_is_a_warning(monkeypatch):
    _fake_versions(monkeypatch, {})
    status, detail = doctor_cmd.check_driver()
    assert status == "warn" and "irisenv[driver]" in detail


def test_an_iris_module_without_dbapi_connect_is_the_known_clash(monkeypatch):
    _fake_versions(monkeypatch, {"intersystems-irispython": "5.4.1", "sqlalchemy-iris": "0.20.0"})
    fake = types.ModuleType("iris")
    fake.__path__ = []  # a package, as the clash leaves it
    fake_dbapi = types.ModuleType("iris.dbapi")  # no connect: overwritten by another dist
    fake.dbapi = fake_dbapi
    monkeypatch.setitem(sys.modules, "iris", fake)
    monkeypatch.setitem(sys.modules, "iris.dbapi", fake_dbapi)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    status, detail = doctor_cmd.check_driver()
    assert status == "fail"
    assert "sqlalchemy-iris 0.20.0" in detail and "--force-reinstall intersystems-irispython" in detail


def test_a_working_driver_is_ok(monkeypatch):
    _fake_versions(monkeypatch, {"intersystems-irispython": "5.4.1"})
    fake = types.ModuleType("iris")
    fake.__path__ = []
    fake_dbapi = types.ModuleType("iris.dbapi")
    fake_dbapi.connect = lambda **kw: None
    fake.dbapi = fake_dbapi
    monkeypatch.setitem(sys.modules, "iris", fake)
    monkeypatch.setitem(sys.modules, "iris.dbapi", fake_dbapi)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())
    assert doctor_cmd.check_driver() == ("ok", "intersystems-irispython 5.4.1")
