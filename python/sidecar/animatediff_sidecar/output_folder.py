"""The output folder: checked before a run does any model work, and its I/O failures reported as
what they are - the folder's problem, with the path and the OS's reason - not as an error in the
user's export code.
"""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .protocol import OutputFolderError

# Failures that say something about the folder or the disk, whichever code hit them.
FOLDER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR,
                 errno.EISDIR, errno.EFBIG, errno.EIO, errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST}


def _error(exc: OSError, folder: Path, probe: str = "") -> OutputFolderError:
    """The folder, and the file that failed when the OS names one (not the folder's own test file)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    file = exc.filename if exc.filename not in (None, str(folder), probe) else None
    return OutputFolderError(str(folder), exc.strerror or str(exc), name, str(file) if file is not None else None)


def check_output_folder(folder: Path) -> None:
    """Exists or can be made, is a folder, and a file can be created in it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(str(folder), "it exists and is not a folder", "ENOTDIR")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(exc, folder) from exc
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _error(exc, folder, str(exc.filename or "")) from exc


@contextmanager
def output_errors(folder: Path) -> Iterator[None]:
    """Turn a folder/disk OSError raised while writing outputs into OutputFolderError for `folder`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in FOLDER_ERRNOS:
            raise _error(exc, folder) from exc
        raise
