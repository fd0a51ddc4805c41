"""Files the service writes hold personal data and token hashes: readable by their owner only.

Folders are made 0700 and files 0600 as they are created (not through a
process-wide umask, which would race with other threads), and a folder or
file found more open than that, left by an earlier version, is tightened.
SQLite gives the ``-wal``, ``-shm`` and journal files of a database the
mode of the database file itself, so creating the database file 0600
before SQLite opens it covers them too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600
# What the service keeps in its data folder: the two databases (with their -wal, -shm and
# -journal files) and the writers' lock file beside the event store.


def private_dir(path: Path) -> Path:
    """Make ``path`` (and missing parents) a folder only its owner can enter; tighten one too open."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists (an empty file is an empty SQLite database); tighten it.

    An existing file is never opened here: closing any descriptor of a database file drops every
    POSIX lock this process holds on it, so SQLite connections already open on it would lose their
    locks (SQLite's "how to corrupt a database", 2.2). O_EXCL creates only a file nobody has yet.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE))
    tighten(path, FILE_MODE)
    return path


def secure_data_dir(data_dir: Path) -> Path:
    """The data folder 0700, and what is found in it at most 0600 (files) or 0700 (folders).

    Everything in it is the service's: its databases, the pages' session key, the metrics folder.
    """
    private_dir(data_dir)
    for entry in data_dir.iterdir():
        tighten(entry, DIR_MODE if entry.is_dir() else FILE_MODE)
    return data_dir


def private_tree(root: Path) -> None:
    """A folder and everything in it: folders 0700, files 0600 (a backup, once written)."""
    tighten(root, DIR_MODE)
    for entry in root.rglob("*"):
        tighten(entry, DIR_MODE if entry.is_dir() else FILE_MODE)


def tighten(path: Path, allowed: int) -> None:
    """Take away any permission beyond ``allowed`` (never add one). A path owned by someone else is left."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & ~allowed and not path.is_symlink():
            os.chmod(path, mode & allowed)
    except FileNotFoundError:  # a -wal or -shm file removed meanwhile by its last connection
        pass
    except PermissionError:  # not ours to change; the operator's to fix
        pass
