"""The tests start from APP as its declared init left it (iris-devtester.toml): the
plugin's fixtures connect to the instance's default namespace, APP. The tests here only
read; a test that writes should clean up after itself (the cursor fixture rolls back what
it left uncommitted), so that the seed stays the same for every test and every run."""
from __future__ import annotations

import pytest


@pytest.fixture
def cursor(iris_connection):
    """A cursor on APP; rolls back what the test left uncommitted."""
    cur = iris_connection.cursor()
    try:
        yield cur
    finally:
        try:
            iris_connection.rollback()
        finally:
            cur.close()


@pytest.fixture
def scalar(cursor):
    """scalar("SELECT ...", *params) -> the first column of the first row."""

    def run(sql, *params):
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else row[0]

    return run
