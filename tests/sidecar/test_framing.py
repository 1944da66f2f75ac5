"""Malformed frames from the client, over real pipes: each gets an answer where it can (-32700,
with the request's id when readable) and the sidecar keeps answering the frames that follow.
Before, one wrong Content-Length left it alive and deaf for good."""

from __future__ import annotations

import json

import pytest

from .rpc_client import RpcError

HANDSHAKE = {"protocolVersion": 1, "clientName": "framing-test"}


def message(request_id, method="studio/handshake", params=HANDSHAKE) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()


def frame(body: bytes, length=None) -> bytes:
    return b"Content-Length: %s\r\n\r\n" % (str(len(body) if length is None else length).encode()) + body


def write(client, data: bytes) -> None:
    client.proc.stdin.write(data)
    client.proc.stdin.flush()


def parse_error(client, request_id, timeout=30.0):
    with pytest.raises(RpcError) as err:
        client.wait(request_id, timeout=timeout)
    assert err.value.code == -32700, err.value
    return err.value


@pytest.fixture
def sidecar(sc_spawn, sc_no_scratchpad):
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    client._next_id = 1000  # our hand-made frames use small ids
    return client


def still_answers(client):
    assert client.handshake()["protocolVersion"] == 1


def test_malformed_json_is_answered_with_its_id(sidecar):
    write(sidecar, frame(b'{"jsonrpc": "2.0", "id": 7, "method": "studio/handshake", "params": {'))
    parse_error(sidecar, 7)
    still_answers(sidecar)


def test_content_length_too_short(sidecar):
    body = message(8)
    write(sidecar, frame(body, len(body) - 10) + frame(message(9)))
    parse_error(sidecar, 8)
    assert sidecar.wait(9)["protocolVersion"] == 1  # the frame after it is read as usual


def test_content_length_too_long_then_another_frame(sidecar):
    body = message(10)
    write(sidecar, frame(body, len(body) + 25) + frame(message(11)))
    parse_error(sidecar, 10)
    assert sidecar.wait(11)["protocolVersion"] == 1


def test_content_length_too_long_and_nothing_follows(sidecar):
    body = message(12)
    write(sidecar, frame(body, len(body) + 500))
    parse_error(sidecar, 12)  # answered once the rest of the body never came
    still_answers(sidecar)


@pytest.mark.parametrize("header", [b"Content-Length: abc", b"Content-Length: -5", b"Content-Length 40",
                                    b"Content-Length: 99999999999999999999"])
def test_content_length_not_a_number(sidecar, header):
    write(sidecar, header + b"\r\n\r\n" + message(13) + frame(message(14)))
    parse_error(sidecar, 13)
    assert sidecar.wait(14)["protocolVersion"] == 1


def test_garbage_between_frames_is_skipped(sidecar):
    write(sidecar, b"\x00\xffhello\r\n\r\nnot a frame\r\n" + frame(message(15)))
    assert sidecar.wait(15)["protocolVersion"] == 1


def test_json_that_is_not_a_message_is_an_invalid_request(sidecar):
    write(sidecar, frame(b"[1, 2]") + frame(b'{"id": 16}'))
    with pytest.raises(RpcError) as err:
        sidecar.wait(16)
    assert err.value.code == -32600
    still_answers(sidecar)


@pytest.mark.parametrize("header_end", [b"\n\n", b"\r\n", b""], ids=["lf-only", "one-crlf", "no-terminator"])
def test_a_header_without_its_blank_line_does_not_swallow_the_next_frame(sidecar, header_end):
    """The header search must stop at the next frame's `Content-Length:`, not run into its blank line."""
    body = message(20)
    write(sidecar, b"Content-Length: %d" % len(body) + header_end + body + frame(message(21)))
    parse_error(sidecar, 20)
    assert sidecar.wait(21)["protocolVersion"] == 1


def test_a_header_line_followed_by_40_mb_without_a_blank_line(sidecar):
    """The 8 KB header limit holds while searching: the bytes are skipped as they come (not
    buffered whole), and the request after them is answered."""
    write(sidecar, b"Content-Length: 5\r\n" + b"x" * 40_000_000 + frame(message(22)))
    assert sidecar.wait(22, timeout=120)["protocolVersion"] == 1
    still_answers(sidecar)


def test_the_parser_never_holds_more_than_a_header_limit_of_skipped_bytes():
    """In process: fed 40 MB that can never be a header, in 64 KB reads like the pipe's, the parser's
    buffer stays under the limit plus one read, and it reports the skip once, not once per read."""
    from animatediff_sidecar.framing import MAX_HEADER, FrameParser, Frame, Malformed

    parser = FrameParser()
    items, largest = [], 0
    chunks = [b"Content-Length: 5\r\n"] + [b"y" * 65536] * 610 + [frame(message(23))]
    for chunk in chunks:
        parser.feed(chunk)
        largest = max(largest, len(parser.buffer))
        while (item := parser.next()) is not None:
            items.append(item)
    assert largest <= MAX_HEADER + 65536 + 64
    assert isinstance(items[-1], Frame) and json.loads(items[-1].body)["id"] == 23
    skipped = [i for i in items if isinstance(i, Malformed)]
    assert 1 <= len(skipped) <= 2 and sum(i.size for i in skipped) == 19 + 610 * 65536
