"""One job at a time, on one worker thread: the queue, cancel, and turning failures into errors.

`Runner.submit` refuses a second job while one runs (`Busy`, no queue: the client decides). A job
is a `GenerateJob` (generation.py: the recipe of a run) or an `ExportJob` (reexport.py: more
formats from a finished run's record); the runner only runs `job.run(runner)` and answers the
request's future with its result or error (failures.py sorts the exceptions).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, Optional

from .failures import classify, is_cancelled
from .generation import GenerateJob
from .jobs import Job
from .model_cache import ModelCache
from .protocol import Busy, ExportParams, GenerateParams
from .reexport import ExportJob
from .user_code import UserCode

log = logging.getLogger(__name__)

NotifyFn = Callable[[str, Any], None]


class Runner:
    """What the jobs share (the user's code, the model cache, the notification sender) and the
    worker that runs them."""

    def __init__(self, code: UserCode, cache: ModelCache, notify: NotifyFn, record_writer=None):
        self.code = code
        self.cache = cache
        self.notify = notify
        self.record_writer = record_writer  # optional: (job, final latents, params, output, run_info) -> path
        self._lock = threading.Lock()
        self._current: Optional[Job] = None
        self._idle = threading.Event()
        self._idle.set()
        self._queue: "queue.Queue[Optional[Job]]" = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="generation", daemon=True)
        self._thread.start()

    # -- client-facing ---------------------------------------------------------------------------
    def submit(self, request: GenerateParams, request_id: Any = None) -> Job:
        return self._submit(GenerateJob(request, request_id))

    def submit_export(self, request: ExportParams, request_id: Any = None) -> Job:
        return self._submit(ExportJob(request, request_id))

    def _submit(self, job: Job) -> Job:
        with self._lock:
            if self._current is not None:
                raise Busy(self._current.run_id)
            self._current = job
            self._idle.clear()
        self._queue.put(job)
        return job

    def cancel(self, run_id: Optional[str] = None, request_id: Any = None) -> bool:
        with self._lock:
            job = self._current
        if job is None:
            return False
        if (run_id is not None and job.run_id == run_id) or (request_id is not None and job.request_id == request_id):
            return job.cancel()
        return False

    def cancel_all(self) -> None:
        with self._lock:
            job = self._current
        if job is not None:
            job.cancel()

    @property
    def current_run_id(self) -> Optional[str]:
        job = self._current
        return job.run_id if job else None

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    def stop(self) -> None:
        self.cancel_all()
        self._queue.put(None)

    # -- worker ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                result = job.run(self)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes an error response
                cancelled = job.cancelled_result() if is_cancelled(exc) else None
                if cancelled is not None:
                    self._finish(job, result=cancelled)
                else:
                    self._finish(job, error=classify(exc, self.code, job.run_id))
            else:
                self._finish(job, result=result)

    def _finish(self, job: Job, result: Any = None, error: Optional[BaseException] = None) -> None:
        with self._lock:
            self._current = None  # free before answering: the next generate may follow at once
            self._idle.set()
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
