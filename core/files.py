"""Writing a file whole or not at all, for every part that saves state a reader in another process may open."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator


@contextmanager
def atomic_path(target: Path, *, suffix: str = ".tmp", mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside `target` to write to, renamed over `target` when the block ends, removed on error.

    For writers that take a path (numpy, sqlite); `suffix` is the temporary file's (np.savez adds ".npz" to a
    path without it). `mode` sets its permissions before the rename: mkstemp makes it private to its owner.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(temporary)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through a temp file in the same folder (its path is `f.name`), renamed over it only on success."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
