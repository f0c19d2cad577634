"""Git sources: go-getter URL forms, resolving a ref to a commit, fetching one tree.

Only the ``git`` command line is used (no Python git library): ``git ls-remote`` resolves the
ref (one round trip, protocol v2 ref prefixes), ``git fetch --depth 1`` brings the one commit,
``git archive <commit>:<subdir>`` writes the tree, which is unpacked with :mod:`tarfile`'s
``data`` filter (no absolute paths, no links out of the destination, no device files).

Transports: ``https`` always; ``http`` only to loopback hosts and only when the caller allows
it (as ADR 0036 for registries); ``file`` for local repositories. ``ssh`` and ``git://`` are
refused with a message saying what to use instead. Every ``git`` call runs with a protocol
allow-list naming the one transport of the URL, no terminal prompt and a timeout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy._bundle import is_loopback

_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_HEXISH = re.compile(r"^[0-9a-fA-F]{4,39}$")
# A conservative subset of git-check-ref-format: never starts with "-" (no option injection).
_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
_PATH_PART = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%-]+$")
_SHORTHAND_HOSTS = ("github.com", "gitlab.com")
_COMMANDS = ("ls-remote", "init", "fetch", "rev-parse", "archive")


@dataclass(frozen=True)
class GitUrl:
    """A parsed git source: ``scheme`` is ``https``, ``http`` or ``file``."""

    scheme: str
    host: str
    path: str
    subdir: str | None
    ref: str | None

    @property
    def clone_url(self) -> str:
        """What ``git`` is given (``.git`` appended as go-getter does for remote hosts)."""
        if self.scheme == "file":
            return f"file://{self.path}"
        path = self.path if self.path.endswith(".git") else f"{self.path}.git"
        return f"{self.scheme}://{self.host}{path}"

    def pinned(self, commit: str) -> str:
        """``git::host/path//subdir?ref=<commit>`` (``https://`` dropped, as Conforma prints)."""
        if self.scheme == "https":
            base = f"{self.host}{self.path}"
        elif self.scheme == "http":
            base = f"http://{self.host}{self.path}"
        else:
            base = f"file://{self.path}"
        subdir = f"//{self.subdir}" if self.subdir else ""
        return f"git::{base}{subdir}?ref={commit}"


def _bad(message: str, url: str, hint: str | None = None) -> InputError:
    return InputError(f"{message}: {url!r}", field="url", hint=hint)


def is_shorthand(text: str) -> bool:
    """``github.com/org/repo…`` or ``gitlab.com/org/repo…`` (go-getter's detectors)."""
    return text.split("/", 1)[0].lower() in _SHORTHAND_HOSTS


def parse_git_url(url: str, rest: str, *, shorthand: bool = False) -> GitUrl:
    """Parse what follows ``git::`` (or a ``https://….git`` URL); ``url`` is for messages.
    ``shorthand``: ``rest`` is go-getter's ``github.com/org/repo/sub/dir`` form, whose path
    past two segments is a subdirectory. Raises :class:`InputError`."""
    if rest.startswith(("ssh://", "git@")) or re.match(r"^[A-Za-z0-9_.-]+@[^/]+:", rest):
        raise _bad("git over ssh is not supported", url, "use the https:// form of the URL")
    if rest.startswith("git://"):
        raise _bad("the unauthenticated git:// protocol is not supported", url, "use https://")
    scheme = "https"
    for prefix in ("https://", "http://", "file://"):
        if rest.startswith(prefix):
            scheme = prefix[:-3]
            rest = rest[len(prefix) :]
            break
    else:
        if "://" in rest:
            raise _bad("unsupported git transport", url)
    rest, _, query = rest.partition("?")
    ref = _query_ref(query, url)
    if scheme == "file":
        host, path = "", rest
        if not path.startswith("/"):
            raise _bad("a file:// git URL needs an absolute path", url)
    else:
        host, slash, path = rest.partition("/")
        path = slash + path
        if "@" in host:
            raise _bad(
                "credentials in a source URL would be shown in reports",
                url,
                "use a git credential helper",
            )
        if not host or not _HOST.match(host):
            raise _bad("malformed host in git URL", url)
    path, subdir = _split_subdir(path, url)
    if shorthand and subdir is None:
        # go-getter: github.com/org/repo/sub/dir → repository org/repo, subdir sub/dir.
        parts = [part for part in path.split("/") if part]
        if len(parts) > 2:
            path, subdir = "/" + "/".join(parts[:2]), _check_subdir("/".join(parts[2:]), url)
    parts = path.split("/")
    if path in ("", "/") or any(part in (".", "..") for part in parts):
        raise _bad("malformed repository path in git URL", url)
    if scheme != "file" and not all(_PATH_PART.match(part) for part in parts[1:]):
        raise _bad("malformed repository path in git URL", url)
    if scheme == "http" and not is_loopback(host):
        raise _bad(
            "plain http:// is allowed only for loopback git servers",
            url,
            "use https://",
        )
    return GitUrl(scheme=scheme, host=host, path=path, subdir=subdir, ref=ref)


def _query_ref(query: str, url: str) -> str | None:
    if not query:
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise _bad("malformed query in git URL", url) from None
    ref: str | None = None
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise _bad(f"the parameter {key!r} is given twice", url)
        seen.add(key)
        if key == "ref":
            if (
                not _REF.match(value)
                or ".." in value
                or "//" in value
                or value.endswith(("/", ".", ".lock"))
            ):
                raise InputError(f"malformed git ref {value!r} in {url!r}", field="url")
            ref = value
        elif key == "depth":
            if not value.isdigit():
                raise _bad("depth must be a number", url)
        else:
            raise _bad(f"unsupported parameter {key!r} in git URL", url)
    return ref


def _split_subdir(path: str, url: str) -> tuple[str, str | None]:
    # "//" after the scheme separates the repository from a subdirectory (go-getter).
    if "//" not in path:
        return path, None
    repo, _, subdir = path.partition("//")
    return repo, _check_subdir(subdir, url)


def _check_subdir(subdir: str, url: str) -> str | None:
    parts = [part for part in subdir.split("/") if part]
    if any(part in (".", "..") or "\\" in part for part in parts):
        raise _bad("the subdirectory must stay inside the repository", url)
    return "/".join(parts) or None


class GitFetcher:
    """Runs ``git`` for :class:`~konflux_supply.policy.sources.SourceCache`."""

    def __init__(
        self, *, git: str, allow_http: bool, timeout: float, ca_file: str | None = None
    ) -> None:
        self.git = git
        self.ca_file = ca_file
        self.allow_http = allow_http
        self.timeout = timeout

    def resolve(self, source: GitUrl, url: str) -> tuple[str, str | None]:
        """The commit a URL's ref names, and the ref name to fetch (``None``: fetch the id).

        A full 40-hex ref that no branch or tag is named after is taken as a commit id
        without asking the server.
        """
        self._check_transport(source, url)
        ref = None if source.ref == "HEAD" else source.ref
        if ref is not None and _SHA1.match(ref):
            return ref, None
        patterns = ["HEAD"] if ref is None else [ref, f"{ref}^{{}}"]
        out = self._run(["ls-remote", "--", source.clone_url, *patterns], source, url).stdout
        refs: dict[str, str] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            sha, _, name = line.partition("\t")
            if _SHA1.match(sha) and name:
                refs[name] = sha
        if ref is None:
            if "HEAD" not in refs:
                raise InputError(f"the repository has no HEAD (empty?): {url!r}", field="url")
            return refs["HEAD"], "HEAD"
        # git rev-parse's order: refs/<ref>, refs/tags/<ref>, refs/heads/<ref>.
        for name in (ref, f"refs/{ref}", f"refs/tags/{ref}", f"refs/heads/{ref}"):
            if name.startswith("refs/") and name in refs:
                return refs.get(f"{name}^{{}}", refs[name]), name
        if _HEXISH.match(ref):
            raise InputError(
                f"git ref {ref!r} is neither a branch nor a tag of {url!r}",
                field="url",
                hint="give a branch, a tag or a full 40-character commit id",
            )
        raise InputError(f"git ref {ref!r} does not exist in {url!r}", field="url")

    def checkout(
        self, source: GitUrl, url: str, commit: str, refname: str | None, dest: Path
    ) -> None:
        """Fetch ``commit`` and write its tree (or ``subdir``) into ``dest`` (created)."""
        self._check_transport(source, url)
        work = Path(tempfile.mkdtemp(prefix="git-", dir=dest.parent))
        try:
            repo = work / "repo.git"
            self._run(["init", "-q", "--bare", str(repo)], source, url, local=True)
            fetch = ["--git-dir", str(repo), "fetch", "-q", "--no-tags", "--depth", "1"]
            try:
                self._run([*fetch, "--", source.clone_url, commit], source, url)
            except PolicyError as error:
                if refname is None:
                    if "not our ref" in error.message or "remote ref" in error.message:
                        raise InputError(
                            f"commit {commit} does not exist in {url!r}", field="url"
                        ) from None
                    raise
                # A server that refuses unadvertised ids: fetch the ref and check it.
                self._run([*fetch, "--", source.clone_url, refname], source, url)
                head = self._run(
                    ["--git-dir", str(repo), "rev-parse", "FETCH_HEAD"], source, url, local=True
                )
                if head.stdout.decode().strip() != commit:
                    raise PolicyError(
                        f"{refname} moved while fetching {url!r}; try again"
                    ) from None
            tree = f"{commit}:{source.subdir}" if source.subdir else commit
            archive = work / "tree.tar"
            try:
                self._run(
                    ["--git-dir", str(repo), "archive", "--format=tar", "-o", str(archive), tree],
                    source,
                    url,
                    local=True,
                )
            except PolicyError:
                if source.subdir is None:
                    raise
                raise InputError(
                    f"directory {source.subdir!r} does not exist in {url!r} at {commit}",
                    field="url",
                ) from None
            dest.mkdir(parents=True)
            _unpack(archive, dest, url)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _check_transport(self, source: GitUrl, url: str) -> None:
        if source.scheme == "http" and not self.allow_http:
            raise InputError(
                f"plain http:// to a git server is not allowed: {url!r}",
                field="url",
                hint="allow plain HTTP to loopback servers explicitly, or use https://",
            )

    def _run(
        self, args: list[str], source: GitUrl, url: str, *, local: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {
                "GIT_DIR",
                "GIT_WORK_TREE",
                "GIT_INDEX_FILE",
                "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                "GIT_NAMESPACE",
            }
        }
        env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", GIT_PROTOCOL_FROM_USER="0")
        config = ["-c", "protocol.allow=never", "-c", f"protocol.{source.scheme}.allow=always"]
        if self.ca_file is not None:
            env["GIT_SSL_CAINFO"] = self.ca_file  # the variable outranks http.sslCAInfo
        try:
            done = subprocess.run(
                [self.git, *config, *args],
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise PolicyError(
                f"the git command ({self.git}) is not installed; it is needed for {url!r}"
            ) from None
        except subprocess.TimeoutExpired:
            raise PolicyError(f"git timed out after {self.timeout:g} s on {url!r}") from None
        if done.returncode != 0:
            message = _last_line(done.stderr)
            if not local and "not found" in message and "repository" in message:
                raise InputError(f"git repository not found: {url!r}", field="url")
            command = next((arg for arg in args if arg in _COMMANDS), "git")
            raise PolicyError(f"git {command} failed for {url!r}: {message}")
        return done


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return lines[-1][:300] if lines else "no message"


#: Caps on one checked-out tree (a policy library is a few megabytes).
MAX_TREE_BYTES = 1024 * 1024 * 1024
MAX_TREE_FILES = 200_000


def _unpack(archive: Path, dest: Path, url: str) -> None:
    try:
        with tarfile.open(archive, "r:") as tar:
            members = tar.getmembers()
            size = sum(member.size for member in members if member.isfile())
            if len(members) > MAX_TREE_FILES or size > MAX_TREE_BYTES:
                raise InputError(
                    f"the tree of {url!r} is larger than {MAX_TREE_BYTES} bytes or "
                    f"{MAX_TREE_FILES} files",
                    field="url",
                    hint="point the URL at the policy directory (//dir)",
                )
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise InputError(f"cannot unpack the tree of {url!r}: {error}", field="url") from None
