"""Lossless read-modify-write of a tag (``.sig``, ``.att``, the referrers fallback index).

Registries offer no reliable conditional PUT, so cosign's read-append-write loses
signatures under concurrency (reference/perf-reliability.md §5). Two defences, combinable:

* **A lock domain.** Writers that share an :class:`AppendLock` serialise per tag: threads of
  one process (:class:`ThreadLocks`), processes on one host (:class:`HostFileLock`, an
  ``flock`` per tag), or anything implementing the protocol (e.g. a Kubernetes ``Lease``
  held by a controller). Within a lock domain no write is ever lost.
* **Read back and settle** for writers that share no lock: after writing, a writer re-reads
  the tag; when its content is missing it appends again, and it only returns once the tag
  has held its content, unchanged, for ``settle`` seconds. A writer never writes back a read
  older than ``settle / 2`` (it re-reads instead, and sends its PUT once, without retries),
  so after such a quiet period every later write is based on a state that has our content:
  it can no longer be lost — provided a registry applies a PUT within ``settle / 2`` of
  receiving it.

Each loop iteration re-reads the tag, so retries after 5xx answers never write stale data.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import RawManifest
from konflux_supply.oci.registry import Registry, TransientError

__all__ = [
    "AppendLock",
    "AppendOutcome",
    "AppendPolicy",
    "HostFileLock",
    "ThreadLocks",
    "append_to_tag",
]


#: Consecutive failed single-attempt PUTs (lockless mode) before giving up.
_MAX_FAILED_PUTS = 5


@runtime_checkable
class AppendLock(Protocol):
    """Mutual exclusion per key (a tag reference string) across the writers sharing it."""

    def hold(self, key: str, timeout: float) -> AbstractContextManager[None]:
        """Hold the lock for ``key``; raise :class:`RegistryError` after ``timeout`` seconds."""
        ...


class ThreadLocks:
    """Per-key locks for the threads of one process.

    A key's lock lives only while someone holds or waits for it: a long-running writer (a
    controller signing every image it sees) keeps no memory per key it has ever written.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    def _enter(self, key: str) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key) or (threading.Lock(), 0)
            self._locks[key] = (lock, users + 1)
            return lock

    def _leave(self, key: str) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def active(self) -> int:
        """How many keys have a holder or a waiter now (no ``__len__``: an idle lock domain
        must stay truthy where ``if policy.lock`` asks whether there is one)."""
        with self._guard:
            return len(self._locks)

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        lock = self._enter(key)
        try:
            if not lock.acquire(timeout=timeout):
                raise RegistryError(
                    f"timed out after {timeout:.0f} s waiting for the lock on {key}"
                )
            try:
                yield
            finally:
                lock.release()
        finally:
            self._leave(key)


#: The lock shared by every writer in this process that does not bring its own.
PROCESS_LOCKS = ThreadLocks()


class HostFileLock:
    """Per-key ``flock`` files in ``directory``: processes on one host (plus their threads).

    ``private=True`` requires the directory to be this user's and not writable by group or
    others (for a predictable default path under a shared temp dir, where someone else could
    have created it to hold our locks). Lock files are never opened through a symlink.
    """

    def __init__(self, directory: str | Path, *, private: bool = False) -> None:
        self.directory = Path(directory)
        self.private = private
        self._threads = ThreadLocks()

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.private:
                _check_private(self.directory)
            fd = os.open(self.directory / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as error:
            raise InputError(
                f"cannot create the lock file: {error.strerror}", source=str(self.directory)
            ) from None
        deadline = time.monotonic() + timeout
        try:
            with self._threads.hold(key, timeout):
                delay = 0.002
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise RegistryError(
                                f"timed out after {timeout:.0f} s waiting for the host lock "
                                f"on {key}"
                            ) from None
                        time.sleep(delay)
                        delay = min(delay * 2, 0.05)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _check_private(directory: Path) -> None:
    """The lock directory (and a symlink naming it) must be ours and not writable by others:
    whoever can write there can hold our locks or plant links."""
    uid = os.getuid()
    link = os.lstat(directory)
    info = os.stat(directory)
    if link.st_uid not in (uid, 0) or info.st_uid != uid:
        raise InputError(
            f"the lock directory is owned by uid {info.st_uid}, not {uid}",
            source=str(directory),
            hint="set KONFLUX_SUPPLY_LOCK_DIR to a directory of your own",
        )
    if info.st_mode & 0o022:
        raise InputError(
            "the lock directory is writable by others", source=str(directory), hint="chmod 700"
        )


@dataclass(frozen=True)
class AppendPolicy:
    """How an append protects itself against concurrent writers.

    * ``lock`` — the lock domain (default: the threads of this process); ``None`` = none.
    * ``settle`` — seconds the written content must survive before the append returns
      (``0``: one read-back check, enough inside a lock domain).
    * ``max_wait`` — give up (``RegistryError``) after this many seconds.
    * ``lock_timeout`` — how long to wait for the lock.
    """

    lock: AppendLock | None = field(default=PROCESS_LOCKS)
    settle: float = 0.0
    max_wait: float = 300.0
    lock_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.settle < 0 or self.max_wait <= 0 or self.lock_timeout <= 0:
            raise InputError("settle must be ≥ 0, max_wait and lock_timeout > 0", field="policy")


@dataclass(frozen=True)
class AppendOutcome:
    """The result of an append: the manifest now on the tag, and whether we changed it."""

    manifest: RawManifest
    written: bool
    rounds: int


def append_to_tag(
    registry: Registry,
    repository: str,
    tag: str,
    *,
    build: Callable[[RawManifest | None], RawManifest],
    present: Callable[[RawManifest | None], bool],
    policy: AppendPolicy,
    key: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> AppendOutcome:
    """Make ``present(manifest on tag)`` true and keep it so.

    ``build(current)`` returns the new manifest to PUT (it must upload any blobs it needs);
    ``present(manifest)`` says whether our content is in a manifest. Returns once our content
    was read back (with ``settle``: once the tag held it, unchanged, for ``settle`` seconds).
    """
    lock_key = key or f"{registry.name}/{repository}:{tag}"
    lockless = policy.settle > 0
    stale_after = policy.settle / 2 if lockless else float("inf")
    deadline = clock() + policy.max_wait
    rounds = 0
    failures = 0
    written = False
    while True:
        rounds += 1
        if clock() > deadline:
            raise RegistryError(
                f"could not make an append to {lock_key} stick within {policy.max_wait:.0f} s "
                f"({rounds - 1} rounds); concurrent writers keep replacing the tag",
                hint="give the writers a shared lock (HostFileLock or a Lease)",
            )
        held = policy.lock.hold(lock_key, policy.lock_timeout) if policy.lock is not None else None
        with held if held is not None else contextlib.nullcontext():
            read_at = clock()
            current = registry.get_manifest(repository, tag)
            last: RawManifest | None = current
            if not present(current):
                new = build(current)
                if clock() - read_at > stale_after:
                    continue  # our read is too old to write back: read again
                try:
                    # Without a lock a re-sent PUT could land long after its read: one attempt,
                    # then re-read.
                    registry.put_manifest(repository, tag, new, retry=not lockless)
                    written = True
                    failures = 0
                except TransientError as error:
                    failures += 1
                    if failures >= _MAX_FAILED_PUTS:
                        raise RegistryError(
                            f"{error.summary()} (gave up after {failures} attempts)",
                            status=error.status,
                            url=error.url,
                        ) from None
                    last = None
                else:
                    last = registry.get_manifest(repository, tag)
        if present(last):
            assert last is not None
            # Found already there (nothing written): its writer settled it; no wait for us.
            if (
                not lockless
                or not written
                or _quiet(registry, repository, tag, last, present, policy, clock, sleep)
            ):
                return AppendOutcome(last, written, rounds)
        # Lost to a concurrent writer: back off with jitter, then append again.
        sleep(random.uniform(0, min(2.0, 0.05 * 2 ** min(rounds, 6))))


def _quiet(
    registry: Registry,
    repository: str,
    tag: str,
    seen: RawManifest,
    present: Callable[[RawManifest | None], bool],
    policy: AppendPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    """Watch the tag until it stays unchanged (and holds our content) for ``settle`` seconds.

    Every writer PUTs within ``settle / 2`` of its read, so once the tag has been quiet that
    long, any later write was based on a read of this state (or a later one): our content can
    no longer be lost. A change that keeps our content restarts the window; one that loses
    it sends us back to append again.
    """
    window_start = clock()
    digest = seen.digest
    deadline = window_start + policy.max_wait
    while clock() - window_start < policy.settle:
        if clock() > deadline:
            return False
        sleep(policy.settle / 4 * random.uniform(0.8, 1.2))
        now = registry.get_manifest(repository, tag)
        if now is not None and now.digest == digest:
            continue
        if not present(now):
            return False
        assert now is not None
        digest = now.digest
        window_start = clock()
    return True
