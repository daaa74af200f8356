"""The size/mtime cache of init file hashes (core/init.HashCache) never hides an edit: a
file rewritten with the same size within its filesystem's mtime tick is hashed again."""
from __future__ import annotations

import hashlib
import os

from irisenv.core import init


def _item(path):
    return init.Item("sql", "a.sql", path)


def _same_size_edit(path, text):
    """Rewrite ``path`` with ``text`` (same length) and give it back its mtime, as a
    filesystem whose mtimes tick in whole seconds leaves it after an edit in the same
    second."""
    st = os.stat(path)
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_racily_clean_file_is_hashed_again(tmp_path):
    f = tmp_path / "a.sql"
    f.write_text("INSERT INTO t VALUES ('Ada');\n")
    cache = init.HashCache(tmp_path / "h.json")
    cache.sha(_item(f), "k")
    cache.save()
    _same_size_edit(f, "INSERT INTO t VALUES ('Eve');\n")
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    assert cache.sha(_item(f), "k") == want  # the same process (one plan)
    assert init.HashCache(tmp_path / "h.json").sha(_item(f), "k") == want  # the next run


def test_a_file_older_than_the_tick_is_cached(tmp_path, monkeypatch):
    f = tmp_path / "a.sql"
    f.write_text("INSERT INTO t VALUES ('Ada');\n")
    old = 1_600_000_000 * 10**9
    os.utime(f, ns=(old, old))
    cache = init.HashCache(tmp_path / "h.json")
    first = cache.sha(_item(f), "k")
    cache.save()
    reads = []
    monkeypatch.setattr(init, "read", lambda item, key: reads.append(item) or b"")
    assert init.HashCache(tmp_path / "h.json").sha(_item(f), "k") == first and reads == []


def test_entries_of_files_gone_are_dropped_when_the_cache_is_written(tmp_path):
    """The cache is shared by every project of the user and read by every plan: files of
    checkouts removed since (a CI workspace, a temporary project) must not pile up in it."""
    old = 1_600_000_000 * 10**9
    gone, kept, new = (tmp_path / n for n in ("gone.sql", "kept.sql", "new.sql"))
    for f in (gone, kept, new):
        f.write_text("select 1;\n")
        os.utime(f, ns=(old, old))
    cache = init.HashCache(tmp_path / "h.json")
    cache.sha(_item(gone), "k")
    cache.sha(_item(kept), "k")
    cache.save()
    gone.unlink()
    again = init.HashCache(tmp_path / "h.json")
    again.sha(_item(new), "k")  # something to write
    again.save()
    assert set(init.HashCache(tmp_path / "h.json").entries) == {str(kept), str(new)}
