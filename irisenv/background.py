"""One call in a thread of its own, its result fetched later: what observe.py (the IRIS
probes that start first) and the readiness ladder (IRIS's state read while qlist runs)
start early and join when they need it."""
from __future__ import annotations

import threading
import time


class Background:
    """fn(*args) in a daemon thread (an interrupt never waits for it); result() returns
    its value or raises its exception. The join wakes up every 0.2 s, so a Ctrl-C in the
    waiting thread is raised at once."""

    def __init__(self, fn, *args, thread: str = "irisenv-background"):
        self._value = self._error = None

        def run():
            try:
                self._value = fn(*args)
            except BaseException as exc:  # handed to result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True, name=thread)
        self._thread.start()

    def result(self, timeout: float | None = None):
        """The call's value (or its exception); TimeoutError when ``timeout`` seconds
        passed first (the call goes on, unwaited for)."""
        end = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            if end is not None and time.monotonic() >= end:
                raise TimeoutError("the call did not return in time")
            self._thread.join(0.2 if end is None else max(0.0, min(0.2, end - time.monotonic())))
        if self._error is not None:
            raise self._error
        return self._value
