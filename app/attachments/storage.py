"""Where the photos' bytes live: one small interface, files under the instance folder by default.

A key is a short relative name (`partial/<id>`, `<id>`, `<id>.thumb.jpg`). An upload grows under its partial
key, chunk by chunk, and moves to its final key once checked; docs/deployment.md says how an S3-compatible
object store would implement the same six operations.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

from flask import current_app

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


class Storage(Protocol):
    def size(self, key: str) -> int: ...                          # bytes stored under key; 0 when none
    def append(self, key: str, offset: int, data: bytes) -> None: ...  # write at offset, drop what follows
    def read(self, key: str) -> bytes: ...
    def put(self, key: str, data: bytes) -> None: ...             # the whole object at once
    def move(self, source: str, target: str) -> None: ...
    def delete(self, key: str) -> None: ...                       # nothing to delete is not an error


class FileStorage:
    """Files under one folder. Each chunk is on disk (fsync) before the upload's row says it arrived."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key) or ".." in key:
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, key: str, offset: int, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "w+b") as file:
            file.seek(offset)
            file.write(data)
            file.truncate()  # what a crashed earlier attempt left after the offset
            file.flush()
            os.fsync(file.fileno())

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)

    def move(self, source: str, target: str) -> None:
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(source), path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> Storage:
    """The configured store: `ATTACHMENT_STORAGE` (an object with the interface above, set in the instance's
    config.py), else files under `ATTACHMENT_DIR`, by default the instance folder's `attachments/`."""
    configured = current_app.config.get("ATTACHMENT_STORAGE")
    if configured is not None:
        return configured
    root = current_app.config.get("ATTACHMENT_DIR") or os.path.join(current_app.instance_path, "attachments")
    return FileStorage(root)
