"""A private apt configuration for Debian suites newer than the machine's own (stdlib only).

Used by ``scripts/fetch-tools`` and ``scripts/build-opa``. Everything lives under one cache folder
(``<tools>/apt``): its own ``sources.list``, package lists, archive cache and an empty dpkg status, all passed
to ``apt-get``/``apt-cache`` with ``-o Dir::…``. The system's apt state and installed packages are never
touched. The mirror is the one the machine already uses, read from ``/etc/apt/sources.list.d/*.sources``
(or ``/etc/apt/sources.list``); no host is named here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
#: Lists younger than this are reused without an ``apt-get update``.
LISTS_MAX_AGE = 12 * 3600
#: The suites of the private configuration (one set for every script, so they share the lists).
SUITES = ["trixie", "trixie-backports", "sid"]


def log(message: str) -> None:
    print(f"[{Path(sys.argv[0]).name}] {message}", file=sys.stderr, flush=True)


def tools_dir() -> Path:
    """``$KONFLUX_SUPPLY_TOOLS_DIR`` or the repository's git-ignored ``.tools``."""
    return Path(os.environ.get("KONFLUX_SUPPLY_TOOLS_DIR") or REPO / ".tools").resolve()


def mirror_uri() -> str:
    """The Debian archive URI the machine's apt already uses (not the security archive)."""
    candidates: list[str] = []
    sources_d = Path("/etc/apt/sources.list.d")
    for path in sorted(sources_d.glob("*.sources")) if sources_d.is_dir() else []:
        for line in path.read_text(errors="replace").splitlines():
            if line.strip().lower().startswith("uris:"):
                candidates += line.split(":", 1)[1].split()
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(errors="replace").splitlines():
            parts = re.sub(r"\[[^]]*\]", "", line).split()
            if len(parts) >= 3 and parts[0] == "deb":
                candidates.append(parts[1])
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    for uri in candidates:
        if "security" not in uri:
            return uri.rstrip("/")
    raise SystemExit("no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list")


class PrivateApt:
    """apt-get/apt-cache on a private configuration for ``suites`` (component main, host architecture)."""

    def __init__(self, root: Path, suites: list[str]) -> None:
        self.root = root
        self.suites = suites
        self.lists = root / "lists"
        self.cache = root / "cache"
        self.etc = root / "etc"
        for directory in (self.lists / "partial", self.cache / "archives" / "partial", self.etc / "parts"):
            directory.mkdir(parents=True, exist_ok=True)
        (self.etc / "preferences.d").mkdir(exist_ok=True)
        self.status = root / "status"
        if not self.status.exists():
            self.status.write_text("")
        self.source_list = self.etc / "sources.list"
        wanted = "".join(f"deb [signed-by={KEYRING}] {mirror_uri()} {suite} main\n" for suite in suites)
        if not self.source_list.exists() or self.source_list.read_text() != wanted:
            self.source_list.write_text(wanted)
            for stale in self.lists.glob("*_Packages*"):
                stale.unlink()
        self._index: dict[str, dict[str, dict[str, str]]] | None = None

    def options(self) -> list[str]:
        settings = {
            "Dir::Etc::SourceList": self.source_list,
            "Dir::Etc::SourceParts": self.etc / "parts",
            "Dir::Etc::Preferences": self.etc / "preferences",
            "Dir::Etc::PreferencesParts": self.etc / "preferences.d",
            "Dir::State::Lists": self.lists,
            "Dir::State::status": self.status,
            "Dir::Cache": self.cache,
            "Acquire::Languages": "none",
            "APT::Sandbox::User": "root" if os.geteuid() == 0 else "",
            "Debug::NoLocking": "0" if os.geteuid() == 0 else "1",
        }
        return [arg for key, value in settings.items() if value != "" for arg in ("-o", f"{key}={value}")]

    def _run(self, tool: str, *args: str, cwd: Path | None = None) -> None:
        subprocess.run([tool, "-q", *self.options(), *args], check=True, cwd=cwd, stdout=subprocess.DEVNULL)

    def _list_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for suite in self.suites:
            for path in self.lists.glob(f"*_dists_{suite}_main_binary-*_Packages*"):
                found[suite] = path
        return found

    def update(self, *, force: bool = False) -> None:
        """``apt-get update`` on the private lists, skipped when they are fresh."""
        files = self._list_files()
        fresh = len(files) == len(self.suites) and all(
            time.time() - path.stat().st_mtime < LISTS_MAX_AGE for path in files.values()
        )
        if fresh and not force:
            return
        log(f"apt-get update (private lists: {', '.join(self.suites)})")
        self._run("apt-get", "update")
        for path in self._list_files().values():
            path.touch()
        self._index = None

    def index(self) -> dict[str, dict[str, dict[str, str]]]:
        """suite → package name → its stanza (highest version when several)."""
        if self._index is None:
            self._index = {}
            for suite, path in self._list_files().items():
                text = subprocess.run(
                    ["/usr/lib/apt/apt-helper", "cat-file", str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                packages: dict[str, dict[str, str]] = {}
                for block in text.split("\n\n"):
                    stanza: dict[str, str] = {}
                    key = ""
                    for line in block.splitlines():
                        if line[:1] in (" ", "\t") and key:
                            stanza[key] += "\n" + line
                        elif ":" in line:
                            key, value = line.split(":", 1)
                            stanza[key] = value.strip()
                    name = stanza.get("Package")
                    if name and (name not in packages or _newer(stanza, packages[name])):
                        packages[name] = stanza
                self._index[suite] = packages
        return self._index

    def stanza(self, name: str, suite: str) -> dict[str, str] | None:
        return self.index().get(suite, {}).get(name)

    def download(self, wanted: list[tuple[str, str]], dest: Path) -> dict[str, Path]:
        """Download ``(name, suite)`` pairs into ``dest`` (kept: a present .deb is not fetched again)."""
        dest.mkdir(parents=True, exist_ok=True)
        result: dict[str, Path] = {}
        missing: list[str] = []
        for name, suite in wanted:
            stanza = self.stanza(name, suite)
            if stanza is None:
                raise SystemExit(f"package {name} not found in suite {suite}")
            version = stanza["Version"].replace(":", "%3a")
            path = dest / f"{name}_{version}_{stanza['Architecture']}.deb"
            result[name] = path
            if not path.exists():
                missing.append(f"{name}/{suite}")
        if missing:
            log(f"apt-get download: {len(missing)} package(s)")
            for start in range(0, len(missing), 200):
                self._run("apt-get", "download", *missing[start : start + 200], cwd=dest)
        for path in result.values():
            if not path.exists():
                raise SystemExit(f"apt-get download did not produce {path.name}")
        return result


def _newer(a: dict[str, str], b: dict[str, str]) -> bool:
    return (
        subprocess.run(["dpkg", "--compare-versions", a["Version"], "gt", b["Version"]], check=False).returncode
        == 0
    )


def extract(deb: Path, into: Path) -> Path:
    """``dpkg-deb -x`` once into ``into`` (a marker file makes it idempotent)."""
    marker = into / ".extracted"
    if marker.exists() and marker.read_text() == deb.name:
        return into
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    marker.write_text(deb.name)
    return into
