"""A small JSON-RPC 2.0 client for the sidecar (LSP base-protocol framing over the child's stdio).

Every message read is stamped with `time.perf_counter()` on arrival, so the benchmark can tell when
each progress/preview notification came and time requests from the client's side.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from benchmarks.common import cpu_seconds


class RpcError(RuntimeError):
    def __init__(self, error: Dict[str, Any]):
        super().__init__(f"{error.get('code')}: {error.get('message')} {json.dumps(error.get('data'))[:2000]}")
        self.error = error


@dataclass
class Message:
    t: float  # perf_counter() when it arrived
    body: Dict[str, Any]


class SidecarClient:
    def __init__(self, cmd: Sequence[str], env: Dict[str, str], cwd: Path, stderr_path: Path):
        self.cmd, self.env, self.cwd, self.stderr_path = list(cmd), env, cwd, stderr_path
        self.proc: Optional[subprocess.Popen] = None
        self.notifications: List[Message] = []
        self._responses: Dict[Any, Message] = {}
        self._cond = threading.Condition()
        self._next_id = 0
        self._reader: Optional[threading.Thread] = None
        self._closed = False
        self.t_spawn = 0.0

    # -- process ----------------------------------------------------------------------------------
    def start(self) -> "SidecarClient":
        self._stderr = open(self.stderr_path, "wb")
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self._reader = threading.Thread(target=self._read_loop, name="sidecar-reader", daemon=True)
        self._reader.start()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def close(self, timeout: float = 60.0) -> Optional[int]:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
            except (RpcError, TimeoutError, OSError, RuntimeError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._closed = True
        self._stderr.close()
        return self.proc.returncode

    # -- wire -------------------------------------------------------------------------------------
    def _send(self, body: Dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        data = json.dumps(body).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    with self._cond:
                        self._closed = True
                        self._cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii", "replace").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = json.loads(stream.read(length))
            msg = Message(time.perf_counter(), body)
            with self._cond:
                if "id" in body and ("result" in body or "error" in body):
                    self._responses[body["id"]] = msg
                elif "method" in body and "id" in body:
                    # a request from the server (e.g. workspace/configuration): answer null
                    self._send({"jsonrpc": "2.0", "id": body["id"], "result": None})
                else:
                    self.notifications.append(msg)
                self._cond.notify_all()

    def notify(self, method: str, params: Any) -> None:
        body: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            body["params"] = params
        self._send(body)

    def send_request(self, method: str, params: Any) -> int:
        self._next_id += 1
        body: Dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            body["params"] = params
        self._send(body)
        return self._next_id

    def wait_response(self, request_id: int, timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        with self._cond:
            while request_id not in self._responses:
                if self._closed:
                    raise RuntimeError(f"sidecar exited (code {self.proc.poll() if self.proc else None}); "
                                       f"see {self.stderr_path}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to request {request_id} in {timeout:.0f} s")
                self._cond.wait(left)
            msg = self._responses.pop(request_id)
        if "error" in msg.body:
            raise RpcError(msg.body["error"])
        return msg

    def request(self, method: str, params: Any, timeout: float = 600.0) -> Any:
        return self.wait_response(self.send_request(method, params), timeout).body.get("result")

    def notifications_for(self, run_id: Optional[str] = None, method: Optional[str] = None,
                          after: float = 0.0) -> List[Message]:
        with self._cond:
            msgs = list(self.notifications)
        out = []
        for m in msgs:
            if m.t < after or (method and m.body.get("method") != method):
                continue
            if run_id and (m.body.get("params") or {}).get("runId") not in (None, run_id):
                continue
            out.append(m)
        return out


def sidecar_command(python: str, scratchpad: Path, bundle: Path) -> List[str]:
    return [python, "-m", "animatediff_sidecar", "--scratchpad", str(scratchpad), "--bundle", str(bundle)]


def proc_cpu_seconds(pid: int) -> Optional[float]:
    return cpu_seconds(str(pid))
