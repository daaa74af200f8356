"""The files a config names (merge, license_key, and the config itself) are read bounded
and safely: only regular files (a symlink to one is fine), at most 1 MiB, never through a
FIFO (which would hang) or a device (/dev/zero never ends), and no error ever quotes their
content."""
from __future__ import annotations

import os
import threading

import pytest

from irisenv import userfiles
from irisenv.config import load_config, parse_config
from irisenv.core.desired import MERGE_PATH
from irisenv.errors import ConfigError, IrisenvError
from irisenv.iris import mergefile
from irisenv.project import Project

MARK = "Leak-Marker-4711"
MERGE_OK = "[config]\nglobals=0,0,128,0,0,0\n[Actions]\nCreateUser:Name=x,PasswordHash=\"a\"\n"


def project_with(tmp_path, **files) -> Project:
    """A project whose instance names ``files`` (merge=..., license_key=...) as paths."""
    lines = ["[instances.iris]"]
    if "license_key" in files:
        lines.append('edition = "enterprise"')
    lines += [f'{key} = "{path}"' for key, path in files.items()]
    cfg = parse_config("\n".join(lines) + "\n", tmp_path / "iris-devtester.toml",
                       default_project="demo", base_dir=tmp_path)
    return Project(cfg)


def finishes(fn, timeout=30.0):
    """Run ``fn`` in a thread; (finished, exception). A hang is a failure, not a timing."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["exc"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box.get("exc")


def error_of(project: Project) -> IrisenvError:
    with pytest.raises(IrisenvError) as err:
        project.desired()
    return err.value


# ------------------------------------------------------------------ what is accepted
def test_a_regular_merge_file_and_a_symlink_to_one_are_used(tmp_path):
    (tmp_path / "real.cpf").write_text(MERGE_OK)
    (tmp_path / "link.cpf").symlink_to(tmp_path / "real.cpf")
    for name in ("real.cpf", "link.cpf"):
        d = project_with(tmp_path, merge=name).desired()[0]
        assert "CreateUser:Name=x" in d.files[MERGE_PATH].decode()


def test_a_merge_file_with_a_utf8_bom_is_accepted(tmp_path):
    (tmp_path / "bom.cpf").write_bytes(b"\xef\xbb\xbf" + MERGE_OK.encode())
    d = project_with(tmp_path, merge="bom.cpf").desired()[0]
    assert "[Actions]" in d.files[MERGE_PATH].decode()


def test_exactly_the_limit_is_accepted_one_byte_more_is_not(tmp_path):
    key = tmp_path / "iris.key"
    key.write_bytes(b"k" * userfiles.LIMIT)
    assert project_with(tmp_path, license_key="iris.key").desired()
    key.write_bytes(b"k" * (userfiles.LIMIT + 1))
    err = error_of(project_with(tmp_path, license_key="iris.key"))
    assert "instances.iris.license_key" in err.render() and "1 MiB" in err.render()


# ------------------------------------------------------------------ what is refused
def test_a_fifo_is_refused_and_never_hangs(tmp_path):
    fifo = tmp_path / "merge.fifo"
    os.mkfifo(fifo)
    done, exc = finishes(project_with(tmp_path, merge="merge.fifo").desired)
    if not done:  # unblock the stuck open() so the thread can end, then fail
        fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
    assert done, "reading a FIFO named as merge hung"
    assert isinstance(exc, IrisenvError)
    text = exc.render()
    assert "instances.iris.merge" in text and "FIFO" in text and str(fifo) in text


def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "f")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    done, exc = finishes(project_with(tmp_path, merge="link").desired)
    if not done:
        os.close(os.open(tmp_path / "f", os.O_RDWR | os.O_NONBLOCK))
    assert done and isinstance(exc, IrisenvError) and "FIFO" in exc.render()


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("key", ["merge", "license_key"])
def test_a_device_is_refused_without_reading_it(tmp_path, key):
    err = error_of(project_with(tmp_path, **{key: "/dev/zero"}))
    assert f"instances.iris.{key}" in err.render() and "device" in err.render()


def test_a_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    err = error_of(project_with(tmp_path, merge="d"))
    assert "directory" in err.render() and "instances.iris.merge" in err.render()


def test_a_missing_file_names_the_key_and_the_path(tmp_path):
    err = error_of(project_with(tmp_path, license_key="nope.key"))
    text = err.render()
    assert "instances.iris.license_key" in text and str(tmp_path / "nope.key") in text
    assert "does not exist" in text


def test_an_empty_licence_is_refused(tmp_path):
    (tmp_path / "iris.key").write_bytes(b"")
    assert "empty" in error_of(project_with(tmp_path, license_key="iris.key")).render()


def test_an_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    (tmp_path / "m.cpf").write_text(MERGE_OK)
    (tmp_path / "m.cpf").chmod(0)
    if os.geteuid() == 0:  # root reads anything: let open() refuse as it would for a user
        real_open = os.open

        def refuse(path, *a, **k):
            if str(path).endswith("m.cpf"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *a, **k)

        monkeypatch.setattr(os, "open", refuse)
    text = error_of(project_with(tmp_path, merge="m.cpf")).render()
    assert "permission" in text.lower() and "instances.iris.merge" in text, text


# ------------------------------------------------------------------ never quote content
@pytest.mark.parametrize("content", [
    f"{MARK}=1\n[config]\n".encode(),                    # a line before any section
    f"[config]\n{MARK}\n".encode(),                      # not Key=Value
    f"[config\n{MARK}=1\n".encode(),                     # an unclosed header
    f"[config]\nA={MARK}\x00B=2\n".encode(),             # NUL bytes: not text
    b"[config]\nA=" + MARK.encode() + b"\xff\xfe\n",     # not UTF-8
])
def test_a_bad_merge_file_is_reported_by_line_number_without_content(tmp_path, content):
    (tmp_path / "bad.cpf").write_bytes(content)
    err = error_of(project_with(tmp_path, merge="bad.cpf"))
    text = err.render() + str(err.to_dict())
    assert MARK not in text and "Leak" not in text
    assert "instances.iris.merge" in text and "line " in text


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="needs /proc")
def test_proc_self_environ_as_merge_does_not_print_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("IRISENV_TEST_LEAK", MARK)
    err = error_of(project_with(tmp_path, merge="/proc/self/environ"))
    assert MARK not in err.render() and "PATH=" not in err.render()
    assert "instances.iris.merge" in err.render()


@pytest.mark.parametrize("text, line, says", [
    ("A=1\n[config]\n", 1, "before any [section] header"),
    ("; c\n[config]\nA=1\n\nnot a pair\n", 5, "not a Key=Value line"),
    ("[config]\n[Startup\n", 2, "not closed"),
    ("[ ]\nA=1\n", 1, "no name"),
])
def test_mergefile_parse_errors_name_the_line_and_quote_nothing(text, line, says):
    with pytest.raises(ValueError) as err:
        mergefile.parse(text)
    assert str(err.value).startswith(f"line {line} ") and says in str(err.value)
    assert "not a pair" not in str(err.value) and "Startup" not in str(err.value)


# ------------------------------------------------------------------ the config file itself
def test_a_fifo_as_the_config_file_is_refused_and_never_hangs(tmp_path):
    fifo = tmp_path / "cfg.toml"
    os.mkfifo(fifo)
    done, exc = finishes(lambda: load_config(fifo))
    if not done:
        os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
    assert done, "reading a FIFO named as the config hung"
    assert isinstance(exc, ConfigError) and "FIFO" in exc.render()


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="needs /proc")
def test_proc_self_environ_as_the_config_does_not_print_the_environment(monkeypatch):
    monkeypatch.setenv("IRISENV_TEST_LEAK", MARK)
    with pytest.raises(ConfigError) as err:
        load_config("/proc/self/environ")
    assert MARK not in err.value.render() and "PATH=" not in err.value.render()


def test_an_oversized_config_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text("# x\n" * (userfiles.LIMIT // 4 + 1))
    with pytest.raises(ConfigError) as err:
        load_config(big)
    assert "1 MiB" in err.value.render()
