"""A job's exception as the JSON-RPC error the client can act on.

Exceptions of the lesson package are sorted by class *name* (Cancelled, ParamError, ModelNotFound,
BackendUnavailable) rather than identity, because reloading the user's modules creates new classes.
"""

from __future__ import annotations

import logging
import traceback
from typing import List

from .protocol import BackendUnavailable, InternalError, InvalidParams, ModelNotFound, SidecarError, core_field
from .user_code import UserCode

log = logging.getLogger(__name__)


def names(exc: BaseException) -> List[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


def is_cancelled(exc: BaseException) -> bool:
    return "Cancelled" in names(exc)


def classify(exc: BaseException, code: UserCode, run_id: str) -> BaseException:
    if isinstance(exc, SidecarError):
        return exc
    kinds = names(exc)
    if "ParamError" in kinds:
        spec = code.api().PARAMETERS
        return InvalidParams(core_field(getattr(exc, "field", "params"), spec), getattr(exc, "message", str(exc)))
    if "ModelNotFound" in kinds:
        return ModelNotFound(str(exc), getattr(exc, "what", "model"), getattr(exc, "source", ""),
                             getattr(exc, "looked_in", ""), getattr(exc, "fix", ""))
    if "BackendUnavailable" in kinds:
        return BackendUnavailable(str(exc))
    user_error = code.user_code_error(exc)
    if user_error is not None:
        return user_error
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    log.error("run %s failed:\n%s", run_id, trace)
    return InternalError(f"{type(exc).__name__}: {exc}",
                         {"type": type(exc).__name__, "message": str(exc), "traceback": trace})
