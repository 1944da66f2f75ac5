"""The one Python JSON-RPC client of the sidecar: it drives `python -m animatediff_sidecar` over
real pipes for the tests (tests/sidecar) and the benchmarks (benchmarks/sidecar_bench.py).

It parses the LSP base-protocol framing strictly: any byte on stdout that is not a well-formed
`Content-Length` frame holding one JSON-RPC message is recorded in `corruption`, which the
fixtures assert is empty - that is how "nothing else writes to stdout" is tested. Every message
read is stamped on arrival (`"_t"`: seconds since the process was started), so the benchmarks can
time requests and notifications from the client's side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parents[2]
SIDECAR_PATH = REPO / "python" / "sidecar"


class RpcError(Exception):
    def __init__(self, error: Dict[str, Any]):
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


class SidecarClient:
    def __init__(self, args: List[str] = (), python: str = sys.executable, env: Optional[Dict[str, str]] = None,
                 cwd: Optional[str] = None):
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join([str(SIDECAR_PATH), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        full_env.setdefault("HF_HUB_OFFLINE", "1")
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        full_env.update(env or {})
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([python, "-m", "animatediff_sidecar", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                     cwd=cwd or str(REPO))
        self._next_id = 0
        self._cond = threading.Condition()
        self.responses: Dict[Any, Dict[str, Any]] = {}
        self.notifications: List[Dict[str, Any]] = []  # each with "_t": seconds since start
        self.corruption: List[str] = []
        self.stderr_lines: List[str] = []
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    # -- transport ------------------------------------------------------------------------------
    def _write(self, message: Dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self._closed()
                    return
                if line == b"\r\n":
                    break
                if not line.endswith(b"\r\n") or b":" not in line:
                    self.corruption.append(f"bad header line {line[:200]!r}")
                    continue
                name, _, value = line.decode("ascii", "replace").partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" not in headers:
                self.corruption.append(f"frame without Content-Length: {headers}")
                continue
            length = int(headers["content-length"])
            body = out.read(length)
            try:
                message = json.loads(body.decode("utf-8"))
                assert isinstance(message, dict) and message.get("jsonrpc") == "2.0"
            except Exception as exc:  # noqa: BLE001
                self.corruption.append(f"bad body ({exc}): {body[:200]!r}")
                continue
            with self._cond:
                message["_t"] = time.perf_counter() - self.started
                if "method" in message:
                    self.notifications.append(message)
                else:
                    self.responses[message.get("id")] = message
                self._cond.notify_all()

    def _closed(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        for raw in self.proc.stderr:
            self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    # -- API ------------------------------------------------------------------------------------
    def send(self, method: str, params: Any = None) -> int:
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)
        return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)

    def wait(self, request_id: int, timeout: float = 60.0) -> Any:
        """The result of a request sent with `send`; raises RpcError for an error response."""
        return self.wait_message(request_id, timeout).get("result")

    def wait_message(self, request_id: int, timeout: float = 60.0) -> Dict[str, Any]:
        """The whole response message (with its arrival time `_t`); raises RpcError for an error."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no response to request {request_id} in {timeout}s\n{self.stderr_tail()}")
                if self.proc.poll() is not None and request_id not in self.responses:
                    raise RuntimeError(f"sidecar exited ({self.proc.returncode}) before answering\n{self.stderr_tail()}")
                self._cond.wait(min(left, 0.5))
            response = self.responses.pop(request_id)
        if "error" in response:
            raise RpcError(response["error"])
        return response

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        return self.wait(self.send(method, params), timeout)

    def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 60.0) -> Dict[str, Any]:
        """The first notification (already received or arriving) that matches."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for message in self.notifications[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.notifications)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching notification in {timeout}s\n{self.stderr_tail()}")
                if self.proc.poll() is not None:
                    raise RuntimeError(f"sidecar exited ({self.proc.returncode})\n{self.stderr_tail()}")
                self._cond.wait(min(left, 0.5))

    def of(self, method: str, run_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """Params of every notification `method` so far (for one run if run_id is given)."""
        with self._cond:
            return [n["params"] for n in self.notifications
                    if n["method"] == method and (run_id is None or n["params"].get("runId") == run_id)]

    def since_start(self) -> float:
        """Now, on the clock of the `_t` stamps."""
        return time.perf_counter() - self.started

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_tail(self, lines: int = 40) -> str:
        return "--- sidecar stderr ---\n" + "\n".join(self.stderr_lines[-lines:])

    def handshake(self) -> Dict[str, Any]:
        return self.request("studio/handshake", {"protocolVersion": 1, "clientName": "pytest"})

    def close(self, timeout: float = 20.0) -> Optional[int]:
        """shutdown + exit, the way the extension ends it; returns the exit code."""
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit")
                self.proc.wait(timeout=timeout)
            except Exception:  # noqa: BLE001
                self.kill()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)
