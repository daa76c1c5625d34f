"""Crash-safe file writes: temp file in the same folder + fsync + rename, so a reader (or a resumed run)
only ever sees the old complete file or the new complete file.

Temp files and folders are created private (``mkstemp`` 0600, ``mkdtemp`` 0700); before the rename they get the
mode an ordinary ``open()`` / ``mkdir()`` would have given them: the mode of the file or folder they replace, or
else 0666 / 0777 less the umask, so a shared model or report is as readable as the user's other files."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TMP_SUFFIX = ".tmp"  # every temp file and folder senti writes is ".<name>.<random>.tmp"


def _proc_umask() -> int | None:
    """The umask from /proc (Linux), read without changing it; None where there is no such file."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _import_umask() -> int:
    mask = _proc_umask()
    if mask is None:
        # os.umask can only be read by setting it, and the mask is process-wide: a thread creating a file in
        # between would get the wrong mode. Done once, at import, and only where /proc cannot tell.
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _import_umask()


def current_umask() -> int:
    """The process umask now (Linux reads /proc each time; elsewhere the umask senti was imported under)."""
    mask = _proc_umask()
    return _UMASK_AT_IMPORT if mask is None else mask


def file_mode(replacing: str | Path | None = None) -> int:
    """The mode ``open(path, "w")`` would leave: that of the existing file, else 0666 less the umask."""
    mode = _existing_mode(replacing)
    return 0o666 & ~current_umask() if mode is None else mode


def dir_mode(replacing: str | Path | None = None) -> int:
    """The mode ``mkdir`` would give (0777 less the umask), or that of the folder being replaced."""
    mode = _existing_mode(replacing)
    return 0o777 & ~current_umask() if mode is None else mode


def _existing_mode(path: str | Path | None) -> int | None:
    if path is None:
        return None
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _chmod(path: str | Path, mode: int) -> None:
    # A file system without modes (FAT, some network mounts): nothing to set, nothing to fix.
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` and then move the finished, fsynced file onto ``path``.

    A crash at any moment (SIGKILL, power loss) leaves either the old file or the new one, never a mix; a
    failed write (disk full) leaves the old file untouched and raises an ``OSError`` that names ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    os.close(fd)
    try:
        write(tmp)
        _chmod(tmp, file_mode(path))  # after write(): a writer may have replaced the temp file
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())  # the data is on disk before the rename makes it visible
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temp files and folders that a killed process left behind in ``folder``."""
    stale = list(Path(folder).glob(f".*{TMP_SUFFIX}"))
    for p in stale:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return stale


def atomic_write_text(path: str | Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def replace_dir(src: Path, dst: Path) -> None:
    """Move a finished folder ``src`` onto ``dst``, replacing an older one, never leaving ``dst`` half-written.

    Where the kernel can swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``), a crash at any moment
    leaves the old or the new folder at ``dst``; elsewhere two renames leave a short window with neither.
    ``src`` (typically a private ``mkdtemp`` folder) gets the mode ``dst`` has, or ``mkdir`` would give."""
    _chmod(src, dir_mode(dst))
    if dst.exists() and _exchange(src, dst):
        shutil.rmtree(src, ignore_errors=True)  # src now holds the old folder
    else:
        old = dst.with_name(f".{dst.name}.old{TMP_SUFFIX}")
        if old.exists():
            shutil.rmtree(old)
        if dst.exists():
            os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(dst.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False where the platform or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
