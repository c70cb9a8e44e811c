"""Say at once, in one line, when another process holds the embedded Derby metastore.

Derby admits one process per metastore. Without this check a second Spark process retries
for minutes and ends, tens of thousands of log lines later, in `Unable to instantiate
SessionHiveMetaStoreClient`. Derby holds an exclusive POSIX lock on `metastore_db/dbex.lck`
while a database is booted, so the holder can be found in /proc/locks (Linux), or the lock
tested with fcntl elsewhere.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

LOCK_FILE = Path("metastore_db") / "dbex.lck"


class MetastoreInUse(RuntimeError):
    """Another process has the embedded metastore open; the message says what to do."""


def _holder_from_proc_locks(lock: Path) -> int | None:
    """The pid holding a POSIX lock on ``lock``, from /proc/locks; None when nobody does."""
    inode = lock.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 19317 fe:00:2146322 0 EOF"
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5].endswith(f":{inode}"):
            return int(fields[4])
    return None


def _held_by_another_process(lock: Path) -> bool:
    """Whether another process holds a lock on ``lock`` (tested, then released at once)."""
    import fcntl

    with open(lock, "rb+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                return True
            raise
        fcntl.lockf(handle, fcntl.LOCK_UN)
    return False


def _command_of(pid: int) -> str:
    """A short description of a process: its command line, and its parent's for a JVM."""

    def cmdline(p: int) -> str:
        try:
            raw = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            return ""
        return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)

    text = cmdline(pid)
    if text.split(" ")[0].endswith("java"):
        parent = _parent_of(pid)
        text = (
            f"Spark's JVM, started by pid {parent}: {cmdline(parent)}"
            if parent is not None
            else "a Java process (Spark)"
        )
    return text[:160] + ("…" if len(text) > 160 else "")


def _parent_of(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("PPid")))
    except (OSError, StopIteration, ValueError):
        return None


def _holder(lock: Path) -> tuple[bool, int | None]:
    try:
        pid = _holder_from_proc_locks(lock)
        return pid is not None, pid
    except (OSError, ValueError):
        return _held_by_another_process(lock), None


def check_metastore_free(metastore_dir: Path, orphan_grace_seconds: float = 30.0) -> None:
    """Raise MetastoreInUse naming the holder when another process has the metastore open.

    A JVM whose Python parent has exited (now a child of init) is a previous command's
    Spark shutting down: wait for it, up to ``orphan_grace_seconds``. Anything else fails
    at once."""
    lock = Path(metastore_dir) / LOCK_FILE
    if not lock.is_file():
        return
    held, pid = _holder(lock)
    deadline = time.monotonic() + orphan_grace_seconds
    while held and pid is not None and _parent_of(pid) == 1 and time.monotonic() < deadline:
        time.sleep(0.5)
        held, pid = _holder(lock)
    if not held or pid == os.getpid():
        return
    who = f"process {pid} ({_command_of(pid)})" if pid else "another process"
    raise MetastoreInUse(
        f"the metastore {metastore_dir} is in use by {who}; the embedded Derby metastore "
        "admits one process at a time. Wait for it to finish or stop it; to share the "
        "warehouse, run `propensity warehouse start` (commands then go through it), or give "
        "this command its own PROPENSITY_HOME."
    )
