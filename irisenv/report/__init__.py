"""Progress events and their renderers: plain lines (CI), NDJSON, quiet, rich (TTY only).

Events go to stderr; stdout is kept for data. Every message passes errors.redact()."""
from __future__ import annotations

import json
import os
import sys
import threading
import time

from ..errors import redact


class Reporter:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()
        self.lock = threading.Lock()

    def event(self, kind: str, message: str, instance: str | None = None, **fields) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PlainReporter(Reporter):
    def event(self, kind, message, instance=None, **fields):
        elapsed = time.monotonic() - self.t0
        prefix = f"{instance}: " if instance else ""
        if kind == "warning":  # as the CLI's own warnings: greppable in a CI log
            prefix += "warning: "
        with self.lock:
            self.stream.write(redact(f"[{elapsed:6.2f}s] {prefix}{message}") + "\n")
            self.stream.flush()


class JsonReporter(Reporter):
    def event(self, kind, message, instance=None, **fields):
        doc = {"time": round(time.time(), 3), "elapsed": round(time.monotonic() - self.t0, 3),
               "event": kind, "instance": instance, "message": message, **fields}
        with self.lock:
            self.stream.write(redact(json.dumps(doc, default=str)) + "\n")
            self.stream.flush()


class QuietReporter(Reporter):
    def event(self, kind, message, instance=None, **fields):
        pass


class RichReporter(Reporter):
    """A live status line per instance on a terminal; falls back to plain text on close."""

    def __init__(self, stream=None):
        super().__init__(stream)
        from rich.console import Console

        self.console = Console(file=self.stream, highlight=False)
        self.status = self.console.status("irisenv: starting")
        self.status.start()
        self.current: dict = {}

    def event(self, kind, message, instance=None, **fields):
        elapsed = time.monotonic() - self.t0
        text = redact(message)
        with self.lock:
            if kind in ("done", "error", "warning", "created", "removed", "replaced", "started",
                        "ready", "pulled", "note", "port"):
                style = {"error": "red", "warning": "yellow"}.get(kind, "green")
                who = f"[bold]{instance}[/bold]: " if instance else ""
                self.console.print(f"[dim]{elapsed:6.2f}s[/dim] {who}[{style}]{text}[/{style}]",
                                   markup=True)
            if instance:
                self.current[instance] = text
            shown = " · ".join(f"{k}: {v}" for k, v in self.current.items()) or text
            self.status.update(f"irisenv: {shown}")

    def close(self):
        self.status.stop()


def make_reporter(mode: str = "auto", stream=None) -> Reporter:
    stream = stream or sys.stderr
    if mode == "auto":
        ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
        tty = hasattr(stream, "isatty") and stream.isatty()
        mode = "rich" if tty and not ci and not os.environ.get("TERM") == "dumb" else "plain"
    if mode == "rich":
        try:
            return RichReporter(stream)
        except Exception:
            return PlainReporter(stream)
    return {"plain": PlainReporter, "json": JsonReporter, "quiet": QuietReporter}[mode](stream)
