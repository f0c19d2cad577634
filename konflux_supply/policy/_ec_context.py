"""The per-component state of the ``ec.*`` builtins: settings, memo cache, recorded failures.

A :class:`BuiltinContext` is built by the caller for one component and thrown away after it.
It pickles to its settings and recorded failures only: caches, locks and registry connections
are dropped and re-created lazily in the process that evaluates (a worker).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.oci import RegistryOptions
from konflux_supply.policy import _ec_adapter

__all__ = ["BuiltinContext", "BuiltinError", "BuiltinLimits", "FailureKind"]

MIB = 1024 * 1024

FailureKind = Literal["unavailable", "missing", "unreadable"]
"""Why a builtin answered *undefined*:

* ``unavailable`` — the registry could not answer (transport error, 5xx, 429, auth, a digest
  that did not match, a size cap): no verdict can rest on it.
* ``missing`` — the registry answered that the manifest or blob does not exist.
* ``unreadable`` — the content arrived and verified but could not be read (a layer that is
  not a tar archive, an unsupported compression, a file over the size cap).
"""


@dataclass(frozen=True)
class BuiltinError:
    """One failure a builtin turned into *undefined*: which builtin, which reference, why."""

    builtin: str
    ref: str
    cause: str
    kind: FailureKind = "unavailable"

    def __str__(self) -> str:
        return f"{self.builtin}({self.ref}): {self.kind}: {self.cause}"


@dataclass(frozen=True)
class BuiltinLimits:
    """Caps on what the builtins read.

    * ``max_blob_bytes`` — ``ec.oci.blob``/``parsed_blob``: the blob becomes a Rego string,
      so it is held in memory (Conforma: 500 MB; 128 MiB here).
    * ``max_archive_bytes`` — bytes streamed through by one ``blob_files``/``image_files``
      call (all layers together, as stored). Streamed, never held; the cap bounds traffic.
    * ``max_expanded_bytes`` — the same archives as unpacked (a decompression bomb is read
      through, never held; the cap bounds time).
    * ``max_file_bytes`` — one file extracted from an archive.
    * ``max_files_bytes`` — all files extracted by one call.
    * ``max_layers`` — layers walked by ``image_files``.
    * ``max_batch`` — references in one ``ec.oci.image_manifests`` call.
    * ``workers`` — threads fetching an ``image_manifests`` batch.
    """

    max_blob_bytes: int = 128 * MIB
    max_archive_bytes: int = 4096 * MIB
    max_expanded_bytes: int = 16384 * MIB
    max_file_bytes: int = 16 * MIB
    max_files_bytes: int = 64 * MIB
    max_layers: int = 256
    max_batch: int = 1000
    workers: int = 4

    def __post_init__(self) -> None:
        for name in (
            "max_blob_bytes",
            "max_archive_bytes",
            "max_expanded_bytes",
            "max_file_bytes",
            "max_files_bytes",
            "max_layers",
            "max_batch",
            "workers",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"must be a positive integer, got {value!r}", field=name)


_T = TypeVar("_T")
_MISSING = object()


def _frozen(value: Any) -> str:
    """A stable cache key for a Rego value (sets and object keys sorted)."""

    def convert(item: Any) -> Any:
        if isinstance(item, set | frozenset):
            return ["<set>", sorted((convert(v) for v in item), key=repr)]
        if isinstance(item, Mapping):
            return ["<obj>", sorted(((repr(k), convert(v)) for k, v in item.items()))]
        if isinstance(item, list | tuple):
            return [convert(v) for v in item]
        return item

    return json.dumps(convert(value), default=repr)


@dataclass(eq=False)
class BuiltinContext:
    """Settings and memory of the ``ec.*`` builtins for one component.

    * ``registry`` — how to reach registries (auth, TLS, plain HTTP, retries). Its
      ``credentials`` must be picklable (a :class:`~konflux_supply.oci.DockerConfig` or a
      mapping) when the context is sent to a worker process.
    * ``limits`` — size and count caps (:class:`BuiltinLimits`).
    * ``public_keys`` — KEYREF → public-key PEM, resolved by the caller up front. An
      ``ec.sigstore.*`` call whose ``public_key`` is not inline PEM must name one of these;
      builtins never read key files or reach a KMS themselves.
    * ``trusted_root`` — Sigstore ``trusted_root.json`` bytes: Sigstore bundles (OCI
      referrers) are then verified with their transparency-log entries.
    * ``referrers`` — also read cosign's OCI 1.1 referrers when verifying.

    ``errors`` lists every failure a builtin turned into *undefined* (:class:`BuiltinError`);
    the caller must not read a verdict reached while :attr:`unavailable` is non-empty as a
    pass. Results, failures included, are memoised for the life of the context.
    """

    registry: RegistryOptions = field(default_factory=RegistryOptions)
    limits: BuiltinLimits = field(default_factory=BuiltinLimits)
    public_keys: Mapping[str, bytes] = field(default_factory=dict)
    trusted_root: bytes | None = None
    referrers: bool = True
    errors: list[BuiltinError] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _pool: _ec_adapter.Pool | None = field(default=None, init=False, repr=False)

    # -- pickling: settings and recorded failures only -------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_cache", "_lock", "_pool"):
            state.pop(name, None)
        with self._lock:
            state["errors"] = list(self.errors)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._cache = {}
        self._lock = threading.Lock()
        self._pool = None

    # -- lifetime ---------------------------------------------------------------------------

    def pool(self) -> _ec_adapter.Pool:
        """Registry connections, opened on first use in this process."""
        with self._lock:
            if self._pool is None:
                self._pool = _ec_adapter.new_pool(self.registry)
            return self._pool

    def close(self) -> None:
        """Close registry connections and forget memoised results (recorded errors stay)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._cache.clear()
        if pool is not None:
            pool.close()

    def __enter__(self) -> BuiltinContext:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- failures ---------------------------------------------------------------------------

    @property
    def unavailable(self) -> tuple[BuiltinError, ...]:
        """Failures where a registry could not answer: a verdict reached with any of these
        is not a verdict (the component is an error, fail closed)."""
        with self._lock:
            return tuple(e for e in self.errors if e.kind == "unavailable")

    def record(self, builtin: str, ref: str, cause: str, kind: FailureKind) -> None:
        """Note a failure that a builtin answered with *undefined*."""
        with self._lock:
            self.errors.append(BuiltinError(builtin, ref, cause, kind))

    def record_registry(self, builtin: str, ref: str, error: RegistryError) -> None:
        """Note a registry error: HTTP 404 is ``missing``, anything else ``unavailable``."""
        kind: FailureKind = "missing" if error.status == 404 else "unavailable"
        self.record(builtin, ref, error.summary(), kind)

    # -- memo -------------------------------------------------------------------------------

    def memo(self, builtin: str, args: tuple[Any, ...], compute: Callable[[], _T]) -> _T:
        """``compute()`` once per (builtin, arguments) for the life of the context.

        Failures (``None``) are memoised too: a second call neither asks the registry again
        nor records the failure twice.
        """
        key = builtin + "\x00" + _frozen(args)
        with self._lock:
            found = self._cache.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            return self._cache.setdefault(key, value)  # type: ignore[no-any-return]
