"""API keys and rate limits.

Keys are random tokens shown once when made (`propensity api-key new`); only their SHA-256
hashes are kept: in the keys file (PROPENSITY_API_KEYS_FILE, default
``<PROPENSITY_HOME>/api_keys``, re-read when it changes, so keys rotate without a restart)
and in PROPENSITY_API_KEY_HASHES. A caller sends its key as ``Authorization: Bearer <key>``
or ``X-API-Key: <key>``. Limits per key use the ``limits`` library (sliding window
counter, in memory, per process).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

HASH_PREFIX = "sha256:"
KEY_PREFIX = "cp_"  # recognisable in logs and secret scanners


def new_key() -> str:
    """A fresh random API key (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key. Keys are random, so a plain SHA-256 is enough."""
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class KeyEntry:
    """One line of the keys file: who holds the key, its hash, when it was made."""

    name: str
    key_hash: str
    created_at: str = ""


def read_keys_file(path: Path) -> list[KeyEntry]:
    """The entries of a keys file (``name<TAB>sha256:hex<TAB>created``; # comments)."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not _valid_hash(parts[1]):
            raise ValueError(
                f"{path}, line {number}: expected NAME<TAB>sha256:<64 hex digits>[<TAB>DATE]; "
                "make entries with `propensity api-key new`"
            )
        entries.append(KeyEntry(parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return entries


def add_key(path: Path, name: str) -> str:
    """Make a key for ``name``, append its hash to the keys file and return the key."""
    if not name or any(c in name for c in "\t\n\r") or len(name) > 64:
        raise ValueError("a key name is 1-64 characters, no tabs or line breaks")
    entries = read_keys_file(path) if path.exists() else []
    if any(entry.name == name for entry in entries):
        raise ValueError(
            f"{path} already has a key named {name!r}: revoke it first or pick another"
        )
    key = new_key()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "" if path.exists() else "# API keys: NAME<TAB>SHA-256 of the key<TAB>created\n"
    with path.open("a") as out:
        out.write(f"{header}{name}\t{hash_key(key)}\t{created}\n")
    path.chmod(0o600)
    return key


def revoke_key(path: Path, name: str) -> bool:
    """Remove ``name``'s key from the keys file; True when there was one."""
    if not path.exists():
        return False
    lines = path.read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.split("\t", 1)[0].strip() != name]
    if len(kept) == len(lines):
        return False
    path.write_text("".join(kept))
    return True


def _valid_hash(text: str) -> bool:
    digest = text.removeprefix(HASH_PREFIX)
    return (
        text.startswith(HASH_PREFIX)
        and len(digest) == 64
        and all(c in "0123456789abcdef" for c in digest)
    )


class ApiKeys:
    """The accepted key hashes: the settings' plus the keys file's, re-read when it changes."""

    def __init__(self, hashes: list[str], keys_file: Path | None) -> None:
        bad = [h for h in hashes if not _valid_hash(h)]
        if bad:
            raise ValueError(
                "PROPENSITY_API_KEY_HASHES: every entry is sha256:<64 hex digits> (from "
                "`propensity api-key hash`); got " + ", ".join(repr(h[:20]) for h in bad)
            )
        self._fixed = {h: "settings" for h in hashes}
        self.keys_file = keys_file
        self._file_state: tuple[float, int] | None = None
        self._from_file: dict[str, str] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if self.keys_file is None:
            return
        try:
            stat = self.keys_file.stat()
            state = (stat.st_mtime, stat.st_size)
        except FileNotFoundError:
            state = None
        if state == self._file_state:
            return
        with self._lock:
            entries = read_keys_file(self.keys_file) if state else []
            self._from_file = {entry.key_hash: entry.name for entry in entries}
            self._file_state = state

    def configured(self) -> bool:
        """Whether any key is accepted at all."""
        self._refresh()
        return bool(self._fixed or self._from_file)

    def holder(self, key: str) -> str | None:
        """The name the key was issued to, or None when it is not a valid key."""
        self._refresh()
        digest = hash_key(key)
        for known, name in (*self._fixed.items(), *self._from_file.items()):
            if hmac.compare_digest(known, digest):
                return name
        return None


class RateLimit:
    """A sliding-window limit per caller, e.g. ``600/minute``."""

    def __init__(self, limit: str) -> None:
        try:
            self.item = parse(limit)
        except ValueError as exc:
            raise ValueError(
                f"PROPENSITY_API_RATE_LIMIT={limit!r}: write it as N/second, N/minute or N/hour"
            ) from exc
        # a sliding window of two counters: O(1) per request (a moving window keeps every
        # request's timestamp, and grows with the limit)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def allow(self, caller: str) -> bool:
        """Count one request for ``caller``; False when over the limit."""
        return self.limiter.hit(self.item, caller)

    def retry_after(self, caller: str) -> int:
        """Seconds until ``caller`` may send again."""
        reset, _ = self.limiter.get_window_stats(self.item, caller)
        return max(1, int(reset - datetime.now(timezone.utc).timestamp()) + 1)
