"""engine/docker.py's get_files unpacks the engine's tar stream itself: only directories
and regular files, only inside the destination, streamed from chunks."""
import io
import tarfile

import pytest

from irisenv.engine.docker import _Chunks, _untar
from irisenv.errors import IrisenvError


def tar_of(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/passwd"
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def chunks(data: bytes, size: int = 7):
    return _Chunks(data[i:i + size] for i in range(0, len(data), size))


def test_files_and_directories_are_written_inside_dest_from_small_chunks(tmp_path):
    big = bytes(range(256)) * 4096  # 1 MiB, across many 7-byte chunks
    data = tar_of(("db", tarfile.DIRTYPE, None), ("db/IRIS.DAT", tarfile.REGTYPE, big),
                  ("db/sub/x.txt", tarfile.REGTYPE, b"x"))
    written = _untar(chunks(data, 4093), str(tmp_path / "out"))
    assert written == ["db/IRIS.DAT", "db/sub/x.txt"]
    assert (tmp_path / "out" / "db" / "IRIS.DAT").read_bytes() == big
    assert (tmp_path / "out" / "db" / "IRIS.DAT").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["../escape", "/etc/evil", "db/../../escape"])
def test_an_entry_outside_dest_is_refused(tmp_path, name):
    data = tar_of((name, tarfile.REGTYPE, b"x"))
    with pytest.raises(IrisenvError, match="outside"):
        _untar(chunks(data), str(tmp_path / "out"))
    assert not (tmp_path / "escape").exists()


def test_a_link_is_refused(tmp_path):
    data = tar_of(("db/link", tarfile.SYMTYPE, None))
    with pytest.raises(IrisenvError, match="regular files"):
        _untar(chunks(data), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "db" / "link").exists()
