"""Policy and data sources: fetch once, pin, cache; read Rego modules; merge data documents.

A source is a go-getter style URL, as in an EnterpriseContractPolicy ``sources[].policy[]`` or
``data[]`` (reference/conforma.md §1):

==========================================================  =====================================
URL                                                         fetched as
==========================================================  =====================================
``policy/``, ``/abs/dir``, ``file::dir``, ``file://dir``    a local directory or file, as is
``git::https://host/org/repo.git//sub/dir?ref=v1``          git: branch, tag or full commit id
``github.com/org/repo//dir?ref=main``, ``gitlab.com/…``     git over https (go-getter shorthands)
``https://host/org/repo.git``                               git (a ``.git`` URL)
``git::http://127.0.0.1:8080/repo.git``                     git over plain HTTP, loopback only,
                                                            and only with ``allow_http=True``
``git::file:///srv/repo.git//policy``                       a local git repository
``oci::registry/repo:tag``, ``oci::…@sha256:…``             an OCI policy bundle
``quay.io/org/bundle:tag`` (a known registry host)          an OCI policy bundle
==========================================================  =====================================

Refused with an :class:`~konflux_supply.errors.InputError`: ``ssh``/``git@`` and ``git://``
(use https), plain-HTTP archives and other go-getter getters (``http::``, ``s3::``, …),
credentials inside a URL (they would be printed in the report).

Each remote source is fetched at most once per :class:`SourceCache` (thread-safe), and
**pinned**: git to the commit (``git::host/org/repo.git//dir?ref=<sha>``), a bundle to its
manifest digest (``oci::registry/repo:tag@sha256:…``), exactly as Conforma prints them in the
report's ``policy``. The cache is keyed by the URL as written *and* by the pinned URL, so a
pinned URL (or another branch name for the same commit) is not fetched again. An error is
cached too: every component of one run sees the same answer (ADR 0057).

::

    with SourceCache() as cache:
        policy = [cache.fetch(url) for url in source["policy"]]
        data = [cache.fetch(url) for url in source.get("data", [])]
        modules = read_source_modules(policy)                  # [(path, text), ...]
        document = load_data(data, rule_data=source.get("ruleData"))
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from konflux_supply.errors import InputError, KonfluxSupplyError
from konflux_supply.models.document import parse_document
from konflux_supply.oci import RegistryOptions
from konflux_supply.policy import _bundle, _git
from konflux_supply.policy._files import MAX_FILE_BYTES, read_capped, walk

__all__ = [
    "MAX_FILE_BYTES",
    "POLICY_CONFIG_NAMES",
    "RULE_DATA_KEY",
    "FetchedSource",
    "SourceCache",
    "SourceUrl",
    "fetch_policy_config",
    "is_git_policy",
    "load_data",
    "merge_data",
    "parse_source_url",
    "push_bundle",
    "read_source_modules",
]

#: Where an ECP source's inline ``ruleData`` lives in ``data`` (Conforma's inline data source).
RULE_DATA_KEY = "rule_data__configuration__"
_FORCED = re.compile(r"^([A-Za-z0-9]+)::")
# Registries go-getter (go-gather) sends to its OCI getter without an oci:: prefix.
_OCI_HOSTS = re.compile(
    r"^(?:.+\.azurecr\.io|(?:.+\.)?gcr\.io|registry\.gitlab\.com|.+\.pkg\.dev|"
    r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com|quay\.io|localhost|127\.0\.0\.1|\[::1\])"
    r"(?::[0-9]+)?$",
    re.IGNORECASE,
)

SourceKind = Literal["path", "git", "oci"]


@dataclass(frozen=True)
class SourceUrl:
    """A parsed source URL. ``location`` is the local path, the git clone URL or the image
    reference; ``subdir`` and ``ref`` are set for git only."""

    url: str
    kind: SourceKind
    location: str
    subdir: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class FetchedSource:
    """A source on local disk: ``path`` (a directory, or a file for a local file source) and
    the ``pinned_url`` to show in reports (the ``url`` itself for local paths)."""

    url: str
    pinned_url: str
    path: Path


def parse_source_url(url: str) -> SourceUrl:
    """Classify and check a source URL without touching the network or the disk.

    Raises :class:`InputError` (field ``url``) for anything malformed or unsupported.
    """
    if not isinstance(url, str) or not url.strip():
        raise InputError("a source URL must be a non-empty string", field="url")
    if any(ord(char) < 0x20 or char.isspace() for char in url):
        raise InputError(f"a source URL must not contain spaces or controls: {url!r}", field="url")
    forced = _FORCED.match(url)
    if forced:
        getter, rest = forced.group(1).lower(), url[forced.end() :]
        if getter == "git":
            return _git_source(url)
        if getter == "oci":
            return _oci_source(url, rest.removeprefix("oci://"))
        if getter == "file":
            return _path_source(url, rest.removeprefix("file://"))
        raise InputError(
            f"unsupported source type {getter!r}: {url!r}",
            field="url",
            hint="use a local path, git::https://…, github.com/…, or oci::registry/repo:tag",
        )
    lower = url.lower()
    if lower.startswith("oci://"):
        return _oci_source(url, url[len("oci://") :])
    if lower.startswith("file://"):
        return _path_source(url, url[len("file://") :])
    if lower.startswith(("git@", "ssh://", "git://")):
        return _git_source(url)
    if lower.startswith(("https://", "http://")):
        if _git_path_of(url.split("://", 1)[1]).endswith(".git"):
            return _git_source(url)
        raise InputError(
            f"http(s) archive sources are not supported: {url!r}",
            field="url",
            hint="use git::https://host/repo.git//dir?ref=… or an oci:: policy bundle",
        )
    if "://" in url:
        raise InputError(f"unsupported source URL scheme: {url!r}", field="url")
    if _git.is_shorthand(url):
        return _git_source(url)
    host = url.split("/", 1)[0]
    if "/" in url and _OCI_HOSTS.match(host):
        return _oci_source(url, url)
    if lower.split("/", 1)[0] == "bitbucket.org":
        raise InputError(f"bitbucket shorthand is not supported: {url!r}", field="url")
    return _path_source(url, url)


#: Where a policy configuration is looked for in a fetched git directory, in Conforma's order.
POLICY_CONFIG_NAMES = tuple(
    f"{base}.{extension}"
    for base in (".ec/policy", "policy")
    for extension in ("json", "yaml", "yml")
)


def is_git_policy(value: str) -> bool:
    """Whether ``--policy`` names a git repository (``git::…``, ``https://….git``,
    ``github.com/…``, ``gitlab.com/…``) rather than a file, inline JSON/YAML or a k8s name."""
    if not value or value.lstrip().startswith(("{", "-")) or "\n" in value:
        return False
    try:
        if Path(value).exists():
            return False
    except (OSError, ValueError):
        pass
    try:
        return parse_source_url(value).kind == "git"
    except InputError:
        return False


def fetch_policy_config(value: str, cache: SourceCache) -> Path:
    """The policy configuration file of a git ``--policy``: the repository (or its ``//dir``,
    at ``?ref=``) fetched, then the first of :data:`POLICY_CONFIG_NAMES` in it, as Conforma
    chooses. :class:`InputError` (``--policy``) when there is none."""
    fetched = cache.fetch(value, field="--policy")
    root = fetched.path.resolve()
    for name in POLICY_CONFIG_NAMES:
        candidate = fetched.path / name
        if candidate.is_file() and candidate.resolve().is_relative_to(root):
            return candidate
    raise InputError(
        f"no policy configuration in {value}",
        source="--policy",
        hint="put a policy.yaml (or .ec/policy.yaml, or .json/.yml) at the top of the "
        "repository or of its //directory",
    )


def _git_path_of(rest: str) -> str:
    path = rest.partition("?")[0]
    return path.partition("//")[0].rstrip("/")


def _git_source(url: str) -> SourceUrl:
    parsed = _parse_git(url)
    return SourceUrl(url, "git", parsed.clone_url, parsed.subdir, parsed.ref)


def _parse_git(url: str) -> _git.GitUrl:
    forced = _FORCED.match(url)
    if forced:
        return _git.parse_git_url(url, url[forced.end() :])
    return _git.parse_git_url(url, url, shorthand=_git.is_shorthand(url))


def _oci_source(url: str, location: str) -> SourceUrl:
    try:
        _bundle.BundleReader.parse(location)
    except InputError as error:
        raise InputError(f"{error.message} in {url!r}", field="url") from None
    return SourceUrl(url, "oci", location)


def _path_source(url: str, location: str) -> SourceUrl:
    if not location or "\x00" in location:
        raise InputError(f"empty local source path: {url!r}", field="url")
    return SourceUrl(url, "path", location)


class _Entry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = False
        self.pinned_url = ""
        self.path = Path()
        self.error: KonfluxSupplyError | None = None


class SourceCache:
    """Fetched sources, each fetched once; the caller owns it (``close()`` or ``with``).

    ``directory`` holds what is fetched (default: a new temporary directory, removed by
    :meth:`close`; a directory given is left in place). ``registry_options`` are used for OCI
    bundles. ``allow_http`` permits plain HTTP git to loopback hosts (for local test servers);
    ``git_ca_file`` is a PEM bundle git trusts for https servers (``GIT_SSL_CAINFO``);
    ``git`` is the git command and ``timeout`` the limit on each git call, in seconds.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        registry_options: RegistryOptions | None = None,
        allow_http: bool = False,
        git_ca_file: str | os.PathLike[str] | None = None,
        git: str = "git",
        timeout: float = 300.0,
    ) -> None:
        self._owned = directory is None
        self.directory = Path(
            tempfile.mkdtemp(prefix="konflux-supply-sources-") if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._git = _git.GitFetcher(
            git=git,
            allow_http=allow_http,
            timeout=timeout,
            ca_file=None if git_ca_file is None else str(git_ca_file),
        )
        self._bundles = _bundle.BundleReader(registry_options)
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._dest_locks: dict[str, threading.Lock] = {}

    def fetch(self, url: str, *, field: str | None = None) -> FetchedSource:
        """The source on local disk, pinned; fetched at most once per URL and pinned URL.

        Raises :class:`InputError` (malformed URL, missing path, git ref, directory or bundle,
        wrong bundle media types; its ``field`` is ``field`` when given, e.g.
        ``spec.sources[0].policy[1]``, else ``url``), :class:`PolicyError` (git could not
        answer) or :class:`~konflux_supply.errors.RegistryError` (the registry could not).
        """
        try:
            return self._fetch_once(url)
        except InputError as error:
            if field is None or error.field not in (None, "url"):
                raise
            raise InputError(
                error.message, field=field, source=error.source, hint=error.hint
            ) from None

    def _fetch_once(self, url: str) -> FetchedSource:
        source = parse_source_url(url)
        if source.kind == "path":
            path = Path(source.location)
            if not path.exists():
                raise InputError(f"local source {url!r} does not exist", field="url")
            return FetchedSource(url=url, pinned_url=url, path=path)
        entry = self._entry(url, self._early_pin(source))
        with entry.lock:
            if not entry.done:
                try:
                    entry.pinned_url, entry.path = self._fetch(source, entry)
                except KonfluxSupplyError as error:
                    entry.error = error
                entry.done = True
        if entry.error is not None:
            raise entry.error
        return FetchedSource(url=url, pinned_url=entry.pinned_url, path=entry.path)

    def close(self) -> None:
        """Close registry connections; remove the directory if this cache made it."""
        self._bundles.close()
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SourceCache:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _entry(self, url: str, pinned: str | None) -> _Entry:
        with self._lock:
            entry = self._entries.get(url)
            if entry is None and pinned is not None:
                entry = self._entries.get(pinned)
            if entry is None:
                entry = _Entry()
            self._entries.setdefault(url, entry)
            if pinned is not None:
                self._entries.setdefault(pinned, entry)
            return entry

    def _register(self, pinned: str, entry: _Entry) -> None:
        with self._lock:
            self._entries.setdefault(pinned, entry)

    def _dest_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._dest_locks.setdefault(key, threading.Lock())

    def _early_pin(self, source: SourceUrl) -> str | None:
        if source.kind == "git" and source.ref and re.fullmatch(r"[0-9a-f]{40}", source.ref):
            return self._git_url(source).pinned(source.ref)
        if source.kind == "oci" and "@" in source.location:
            return f"oci::{source.location}"
        return None

    def _git_url(self, source: SourceUrl) -> _git.GitUrl:
        return _parse_git(source.url)

    def _fetch(self, source: SourceUrl, entry: _Entry) -> tuple[str, Path]:
        if source.kind == "git":
            git_url = self._git_url(source)
            commit, refname = self._git.resolve(git_url, source.url)
            pinned = content = git_url.pinned(commit)

            def write(target: Path) -> None:
                self._git.checkout(git_url, source.url, commit, refname, target)

        else:
            registry, ref, manifest = self._bundles.resolve(source.location)
            pinned = _bundle.pin(source.location, manifest.digest)
            content = f"oci::{ref.name}@{manifest.digest}"  # the same bundle under any tag

            def write(target: Path) -> None:
                self._bundles.pull(registry, ref, manifest, target)

        self._register(pinned, entry)
        dest = self.directory / hashlib.sha256(content.encode()).hexdigest()[:32]
        with self._dest_lock(content):
            if not dest.exists():
                # Written aside and renamed: a directory that exists is complete, even for a
                # cache directory shared with a later process after a crash.
                work = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.directory))
                try:
                    write(work / "tree")
                    (work / "tree").rename(dest)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
        return pinned, dest


def _roots(sources: Sequence[FetchedSource | str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """(directory or file, label prefix) per distinct source, in order."""
    out: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for source in sources:
        if isinstance(source, FetchedSource):
            local = parse_source_url(source.url).kind == "path"
            path, key = source.path, source.pinned_url
            prefix = str(source.path) if local else f"{source.url}#"
        else:
            path = Path(source)
            key = prefix = str(path)
        if key in seen:
            continue
        seen.add(key)
        if not path.exists():
            raise InputError("no such file or directory", source=str(path))
        out.append((path, prefix))
    return out


def _label(root: Path, prefix: str, file: Path) -> str:
    rel = file.relative_to(root).as_posix() if root.is_dir() else file.name
    if prefix.endswith("#"):
        return prefix + rel
    return str(Path(prefix, rel)) if root.is_dir() else prefix


def read_source_modules(
    sources: Sequence[FetchedSource | str | os.PathLike[str]],
) -> list[tuple[str, str]]:
    """Every ``*.rego`` file of the sources as ``(path, text)``, sources in order, files in
    walk order. ``path`` is the file for local sources and ``<url>#<path in source>`` for
    fetched ones. A source without Rego is an :class:`InputError` (as Conforma: "no rego
    files found"); so is a file that is not UTF-8."""
    modules: list[tuple[str, str]] = []
    for root, prefix in _roots(sources):
        found = 0
        for file in walk(root):
            if file.suffix != ".rego":
                continue
            label = _label(root, prefix, file)
            try:
                text = read_capped(file, label).decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("a Rego file must be UTF-8 text", source=label) from None
            modules.append((label, text))
            found += 1
        if not found:
            raise InputError(f"no Rego files found in {prefix.rstrip('#')!r}", field="url")
    return modules


def load_data(
    sources: Sequence[FetchedSource | str | os.PathLike[str]],
    *,
    rule_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every ``*.json``/``*.yaml``/``*.yml`` file of the sources, merged at the root of
    ``data`` (Conforma/conftest load each file as its own root: nested directories do not
    nest the document). Objects merge key by key, recursively; any other value met twice is
    a conflict (:class:`InputError` naming the file and key), as OPA's loader. A file whose
    top level is not an object is an error. ``rule_data`` (an ECP source's ``ruleData``) is
    merged last as ``{"rule_data__configuration__": rule_data}``."""
    data: dict[str, Any] = {}
    for root, prefix in _roots(sources):
        for file in walk(root):
            if file.suffix.lower() not in _bundle.DATA_SUFFIXES:
                continue
            label = _label(root, prefix, file)
            document = parse_document(read_capped(file, label), source=label, unique_keys=True)
            merge_data(data, document, source=label)
    if rule_data is not None:
        if not isinstance(rule_data, Mapping):
            raise InputError("ruleData must be an object", field="ruleData")
        merge_data(data, {RULE_DATA_KEY: copy.deepcopy(dict(rule_data))}, source="ruleData")
    return data


def merge_data(target: dict[str, Any], document: Any, *, source: str) -> None:
    """Merge ``document`` into ``target`` at the root, as OPA merges data files.

    Checks the whole document before changing ``target``: on a conflict nothing is merged.
    """
    if not isinstance(document, dict):
        raise InputError("a data document must be an object at the top level", source=source)
    conflict = _conflict(target, document, "")
    if conflict is not None:
        raise InputError(
            "conflicts with data already loaded from another file (merge error)",
            field=conflict,
            source=source,
        )
    _merge(target, document)


def _conflict(old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> str | None:
    for key, value in new.items():
        if key not in old:
            continue
        here = f"{path}.{key}" if path else key
        if not isinstance(old[key], dict) or not isinstance(value, dict):
            return here
        inner = _conflict(old[key], value, here)
        if inner is not None:
            return inner
    return None


def _merge(old: dict[str, Any], new: Mapping[str, Any]) -> None:
    # Called only after _conflict found none: a key present on both sides holds two objects.
    for key, value in new.items():
        if key in old:
            _merge(old[key], value)
        else:
            old[key] = value


def push_bundle(
    paths: Sequence[str | os.PathLike[str]],
    ref: str,
    *,
    registry_options: RegistryOptions | None = None,
) -> str:
    """Write the Rego and data files under ``paths`` as a conftest-compatible OCI policy
    bundle to ``ref`` (a tag; ``latest`` if none) and return its pinned ``oci::ref@sha256:…``.

    Layer titles are ``<directory name>/<path inside it>`` (a file given directly: its name).
    Data files are checked (JSON/YAML, an object at the top) before anything is sent; a tree
    without Rego is refused. Raises :class:`InputError` or
    :class:`~konflux_supply.errors.RegistryError`.
    """
    return _bundle.push_tree(
        paths, ref.removeprefix("oci::").removeprefix("oci://"), registry_options
    )
