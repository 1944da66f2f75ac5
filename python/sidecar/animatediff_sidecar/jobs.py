"""What every job the runner runs has: an id, the request's future, and cancel."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Optional


class Job:
    """One request's work. Subclasses set `run_id` and implement `run(runner)`."""

    run_id: str

    def __init__(self, request: Any, request_id: Any = None):
        self.request = request
        self.request_id = request_id  # JSON-RPC id of the request, for $/cancelRequest
        self.future: Future = Future()
        self.cancel_requested = threading.Event()
        self.token: Any = None  # the package's CancelToken, once created on the worker

    def run(self, runner: Any) -> Any:
        raise NotImplementedError

    def cancelled_result(self) -> Optional[Any]:
        """The answer to a cancelled job, or None when a cancel is an error (RequestCancelled)."""
        return None

    def new_token(self, api: Any) -> Any:
        """The package's cancel token for this job; already cancelled if a cancel came first."""
        self.token = api.cancel_token()
        if self.cancel_requested.is_set():
            self.token.cancel()
        return self.token

    def cancel(self) -> bool:
        """False when the job is past the point of no return (its outputs are being renamed into
        place): it will complete, so the cancel is refused rather than acknowledged and ignored."""
        token = self.token
        if token is not None and token.cancel() is False:
            return False
        self.cancel_requested.set()
        token = self.token  # the worker may have made it meanwhile; it also checks the event
        if token is not None:
            token.cancel()
        return True
