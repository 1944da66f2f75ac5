"""Stdout belongs to the protocol; nothing else may write to it.

`install()` runs before anything else is imported. It keeps a private duplicate of the real
stdout (and stdin) file descriptor for the JSON-RPC stream, then points fd 1 at stderr and fd 0 at
/dev/null. After that:

- Python-level `print` / `sys.stdout.write` (user code, diffusers, tqdm) goes to a tee that writes
  to stderr and mirrors each complete line to a `studio/log` notification (level "info");
- `sys.stderr` writes (warnings, tracebacks, progress bars) go to stderr and are mirrored at
  level "warning";
- C libraries and child processes writing to fd 1 land on stderr;
- code that reads stdin (input()) gets EOF instead of stealing protocol bytes.

The mirror is switched on once the server can send notifications (`set_sink`).
"""

from __future__ import annotations

import io
import os
import sys
import threading
from typing import BinaryIO, Callable, Optional, TextIO

Sink = Callable[[str, str], None]  # (level, message)

MAX_LOG_LINE = 4000  # characters per mirrored line; longer ones are cut (stderr still gets it all)


class ProtocolStream:
    """The real stdout, for pygls only: whole messages written under a lock, never interleaved."""

    def __init__(self, fd: int):
        self._fd = fd
        self._lock = threading.Lock()
        self.closed = False

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        with self._lock:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                try:
                    os.close(self._fd)
                except OSError:
                    pass


class _Mirror:
    """Shared by the stdout and stderr tees: where lines go, and a guard against recursion."""

    def __init__(self, real_stderr: TextIO):
        self.real_stderr = real_stderr
        self.sink: Optional[Sink] = None
        self.local = threading.local()

    def emit(self, level: str, line: str) -> None:
        sink = self.sink
        if sink is None or getattr(self.local, "busy", False):
            return
        self.local.busy = True
        try:
            sink(level, line[:MAX_LOG_LINE])
        except Exception:  # noqa: BLE001 - a log line must never break the code that printed it
            pass
        finally:
            self.local.busy = False


class LineTee(io.TextIOBase):
    """A text stream that writes through to the real stderr and mirrors complete lines.

    A carriage return restarts the current line (terminal semantics), so a tqdm bar becomes one
    log line per finished bar rather than one per refresh."""

    def __init__(self, mirror: _Mirror, level: str, fileno: int):
        super().__init__()
        self._mirror = mirror
        self._level = level
        self._fileno = fileno
        self._pending = ""
        self._lock = threading.Lock()

    # -- io.TextIOBase surface ------------------------------------------------------------
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return "replace"

    @property
    def buffer(self) -> "_BinaryTee":
        return _BinaryTee(self)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fileno  # 1 for stdout: fd 1 now points at stderr, so raw writes are safe too

    def flush(self) -> None:
        try:
            self._mirror.real_stderr.flush()
        except (OSError, ValueError):
            pass

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        try:
            self._mirror.real_stderr.write(text)
            self._mirror.real_stderr.flush()
        except (OSError, ValueError):
            pass
        with self._lock:
            parts = (self._pending + text).split("\n")
            self._pending = _last_segment(parts.pop())
            lines = [_last_segment(part) for part in parts]
        for line in lines:
            if line.strip():
                self._mirror.emit(self._level, line.rstrip())
        return len(text)


def _last_segment(text: str) -> str:
    """What a terminal would show of a line: the text after its last carriage return."""
    if "\r" not in text:
        return text
    segments = [s for s in text.split("\r") if s.strip()]
    return segments[-1] if segments else ""


class _BinaryTee:
    """`sys.stdout.buffer` for code that writes bytes."""

    def __init__(self, tee: LineTee):
        self._tee = tee

    def write(self, data: bytes) -> int:
        self._tee.write(bytes(data).decode("utf-8", errors="replace"))
        return len(data)

    def flush(self) -> None:
        self._tee.flush()

    def fileno(self) -> int:
        return self._tee.fileno()

    def isatty(self) -> bool:
        return False


class Guard:
    def __init__(self, protocol_in: BinaryIO, protocol_out: ProtocolStream, mirror: _Mirror):
        self.protocol_in = protocol_in
        self.protocol_out = protocol_out
        self._mirror = mirror

    @property
    def real_stderr(self) -> TextIO:
        return self._mirror.real_stderr

    def set_sink(self, sink: Optional[Sink]) -> None:
        self._mirror.sink = sink


_guard: Optional[Guard] = None


def install() -> Guard:
    """Take fd 0/1 for the protocol and make every other stdout/stdin use harmless. Idempotent."""
    global _guard
    if _guard is not None:
        return _guard
    try:
        sys.stdout.flush()
    except (OSError, ValueError, AttributeError):
        pass
    out_fd = os.dup(1)
    in_fd = os.dup(0)
    os.set_inheritable(out_fd, False)
    os.set_inheritable(in_fd, False)
    os.dup2(2, 1)  # fd 1 is now stderr: C code and child processes cannot reach the protocol
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)

    real_stderr = io.TextIOWrapper(io.FileIO(os.dup(2), "w"), encoding="utf-8", errors="replace",
                                   line_buffering=True, write_through=True)
    mirror = _Mirror(real_stderr)
    sys.stdout = LineTee(mirror, "info", 1)
    sys.stderr = LineTee(mirror, "warning", 2)
    sys.stdin = open(os.devnull, "r", encoding="utf-8")
    _guard = Guard(io.open(in_fd, "rb", closefd=True), ProtocolStream(out_fd), mirror)
    return _guard
