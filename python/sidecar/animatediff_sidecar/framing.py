"""Reading the client's messages: LSP base-protocol frames, recovering from malformed ones.

pygls' own reader never finds its footing again after a wrong `Content-Length` (it treats the
body as header lines from then on), so the sidecar would stay alive and deaf. This reader keeps
serving instead, because a restart would throw away the resident models:

- a frame whose body is not one JSON value is answered -32700 Parse error, with the request's id
  when it can be read from the bytes (JSON-RPC says `null` otherwise), and reading goes on;
- a too-long `Content-Length` swallows the start of the next frame: the body is cut where its JSON
  value ends (or at the next `Content-Length:`) and the rest is read as the next frame;
- bytes where a header should be (left over after a too-short `Content-Length`, or garbage) are
  skipped up to the next `Content-Length:`;
- a header ends at its own blank line: one without it (LF-only, a single CRLF, none) ends where the
  next `Content-Length:` starts, so it can never run into the next frame's blank line and swallow
  that frame. Frames follow each other with no newline between them (the next header starts right
  after a body's last byte), so that is where a header can start, and where reading resynchronises;
- the 8 KB header limit holds while searching: bytes with no blank line within it are skipped as
  they come (only the last few are kept, in case a `Content-Length:` starts there), never buffered
  whole, and a long skip is reported once when it starts and once when it ends;
- a header that is not `Name: value` lines with a decimal `Content-Length` is answered -32700 for
  the body that follows it;
- a body that stops arriving (a too-long `Content-Length` with nothing after it) is answered
  -32700 once no byte came for BODY_TIMEOUT_S.

Everything skipped is logged (as `studio/log` warnings and on stderr).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Optional, Union

MARK = b"Content-Length:"
HEADER_END = b"\r\n\r\n"
MAX_HEADER = 8192  # bytes of header lines; real ones are ~60
MAX_BODY = 256 * 1024 * 1024
BODY_TIMEOUT_S = 2.0  # a body's bytes arrive together; this long without one means they never will

_HEADER_LINE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9-]*:[ \t]*[^\r\n]*$")
_ID = re.compile(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')


@dataclass
class Frame:
    body: bytes  # one JSON value


@dataclass
class Malformed:
    data: bytes  # what was skipped (of a long skip, at most MAX_HEADER bytes of it)
    reason: str
    size: int = -1  # bytes skipped

    def __post_init__(self) -> None:
        if self.size < 0:
            self.size = len(self.data)

    @property
    def looks_like_a_message(self) -> bool:
        return b'"jsonrpc"' in self.data

    @property
    def request_id(self) -> Any:
        match = _ID.search(self.data)
        if match is None:
            return None
        try:
            return json.loads(match.group(1))
        except ValueError:
            return None


Item = Union[Frame, Malformed]


def _content_length(header: bytes) -> Optional[int]:
    """The Content-Length of a well-formed header block, else None."""
    length = None
    for line in header.split(b"\r\n"):
        if not _HEADER_LINE.match(line):
            return None
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            value = value.strip()
            if not value.isdigit() or len(value) > 10:
                return None
            length = int(value)
    return length if length is not None and length <= MAX_BODY else None


def _json_end(body: bytes) -> Optional[int]:
    """Where the JSON value at the start of `body` ends, if it starts with one."""
    try:
        text = body.decode("utf-8")
        _value, end = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        return None
    return len(text[: len(text) - len(text.lstrip()) + end].encode("utf-8"))


class FrameParser:
    """Bytes in (`feed`), frames and skipped pieces out (`next`). No I/O, no threads."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.length: Optional[int] = None  # body length once a header was read
        self._open = False  # a skip reported when it started has not found a header yet
        self._pending = 0  # bytes skipped since then, reported when it does

    @property
    def waiting_for_body(self) -> bool:
        return self.length is not None

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next(self) -> Optional[Item]:
        """The next frame or skipped piece, or None until more bytes come."""
        buf = self.buffer
        if self.length is None:
            mark = buf.find(MARK)
            end = buf.find(HEADER_END, 0, MAX_HEADER + len(HEADER_END))  # one further away ends no header
            if mark > 0 and (end < 0 or mark < end):  # bytes before a header: skip them
                return self._skip(mark, "bytes outside a frame")
            if mark == 0:
                again = buf.find(MARK, len(MARK))
                if again >= 0 and (end < 0 or again < end):  # the next header starts before this one ended
                    return self._skip(again, "a header without the blank line (CRLF CRLF) that ends it")
            if end < 0:
                if len(buf) <= MAX_HEADER:
                    return None  # the rest of a header may still come
                reason = f"no blank line within {MAX_HEADER} bytes of a header" if mark == 0 else "bytes outside a frame"
                return self._skip(len(buf) - len(MARK) + 1, reason, open_ended=True)
            if self._open:  # a long skip ends here: say how long it was before reading on
                self._open = False
                if self._pending:
                    return self._close(b"")
            header = bytes(buf[:end])
            del buf[: end + len(HEADER_END)]
            length = _content_length(header)
            if length is None:
                following = buf.find(MARK)
                body = bytes(buf[: following if following >= 0 else len(buf)])
                del buf[: len(body)]
                return Malformed(header + HEADER_END + body, f"bad header {header[:80]!r}")
            self.length = length
        if len(buf) < self.length:
            return None
        body = bytes(buf[: self.length])
        del buf[: self.length]
        self.length = None
        try:
            json.loads(body)
            return Frame(body)
        except ValueError:
            return self._cut(body, "the body is not one JSON value (wrong Content-Length?)")

    def _skip(self, upto: int, reason: str, open_ended: bool = False) -> Optional[Malformed]:
        """Drop buf[:upto]. `open_ended`: no header was found in it, more junk may follow; the first
        such skip is reported at once, the bytes after it once the skip ends (one report, not one per read)."""
        data = bytes(self.buffer[:upto])
        del self.buffer[:upto]
        if self._open:
            self._pending += len(data)
            return None if open_ended else self._close(data)
        self._open = open_ended
        return Malformed(data[:MAX_HEADER], reason, len(data))

    def _close(self, tail: bytes) -> Malformed:
        item = Malformed(tail[-MAX_HEADER:], "more bytes outside a frame, up to the next header", self._pending)
        self._open, self._pending = False, 0
        return item

    def expire(self) -> Optional[Malformed]:
        """The body being waited for stopped arriving: give up on it."""
        if self.length is None:
            return None
        body = bytes(self.buffer)
        self.buffer.clear()
        self.length = None
        return self._cut(body, "the body ended before its Content-Length")

    def _cut(self, body: bytes, reason: str) -> Malformed:
        """Keep what follows the malformed frame's own bytes for the next frame: after its JSON
        value when it has one (a too-long length), else from the next `Content-Length:`."""
        end = _json_end(body)
        cut = end if end is not None and end < len(body) else body.find(MARK, 1)
        if cut is not None and cut > 0:
            self.buffer[0:0] = body[cut:]
            body = body[:cut]
        return Malformed(body, reason)


async def serve_frames(stop: threading.Event, stream: BinaryIO, on_frame: Callable[[bytes], None],
                       on_malformed: Callable[[Malformed], None]) -> None:
    """Read `stream` until EOF (or `stop`), handing each frame / skipped piece to the callbacks."""
    loop = asyncio.get_running_loop()
    chunks: "asyncio.Queue[bytes]" = asyncio.Queue()
    fd = stream.fileno()

    def pump() -> None:  # a plain blocking read: nothing else reads this fd
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            loop.call_soon_threadsafe(chunks.put_nowait, data)
            if not data:
                return

    threading.Thread(target=pump, name="protocol-in", daemon=True).start()
    parser = FrameParser()
    while not stop.is_set():
        try:
            data = await asyncio.wait_for(chunks.get(), BODY_TIMEOUT_S if parser.waiting_for_body else None)
        except asyncio.TimeoutError:
            expired = parser.expire()
            if expired is not None:
                on_malformed(expired)
            data = None
        if data == b"":
            return
        if data:
            parser.feed(data)
        while True:
            item = parser.next()
            if item is None:
                break
            if isinstance(item, Frame):
                on_frame(item.body)
            else:
                on_malformed(item)
