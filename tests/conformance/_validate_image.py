"""Helpers for the ``validate image`` conformance scenarios (Conforma's ``validate_image.feature``).

An :class:`Acceptance` world plays the feature's ``Given`` steps with our own code: key pairs
(:mod:`konflux_supply.signing`), images pushed to the local registry (:mod:`konflux_supply.oci`),
signatures and SLSA attestations (:mod:`konflux_supply.publish`), policy repositories on the
loopback git server and OCI policy bundles (:func:`konflux_supply.policy.sources.push_bundle`).
Every value that differs from run to run is recorded under the placeholder name Conforma's
snapshots use (``${REGISTRY}``, ``${known_PUBLIC_KEY_JSON}``, ``${LATEST_COMMIT}``, …), so
:meth:`Acceptance.normalise` turns our output into the snapshot's text, the way Conforma's own
``acceptance/snaps`` does (values → ``${NAME}``, then every timestamp → ``${TIMESTAMP}``).

The snapshot file is read at test time from the peer corpus; nothing of it is stored here.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from konflux_supply import publish, signing
from konflux_supply.models.oci import Descriptor, parse_manifest
from konflux_supply.oci import Reference, open_registry, parse_reference
from konflux_supply.policy.report import EC_VERSION
from konflux_supply.policy.sources import push_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Our own Rego fixtures, one per upstream example the scenarios name.
REGO_DIR = Path(__file__).resolve().parent / "validate_image"
SNAPSHOT_PATH = ("conforma", "cli", "features", "__snapshots__", "validate_image.snap")
FEATURE_PATH = ("conforma", "cli", "features", "validate_image.feature")

BUILDER_ID = "https://tekton.dev/chains/v2"
BUILD_TYPE = "https://tekton.dev/attestations/chains/pipelinerun@v2"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

_NAMESPACES = itertools.count(1)

# Conforma's acceptance/snaps timestamp patterns (facts: what its snapshots replace).
_TIMESTAMP = re.compile(
    r"\d\d[1-9]\d-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?"
)
# Go's ``^`` without (?m): the very start of the output only.
_EFFECTIVE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}?Z")
_UNIX_TIME = re.compile(r'("| )(?:\d{10})(\\"|"|$)', re.M)
_PINNED_COMMIT = re.compile(r"\?ref=[0-9a-f]{40}\b")
_SNAPSHOT_ENTRY = re.compile(r"^\[TestFeatures/(?P<key>[^\n]+)\]\n(?P<body>.*?)^---$", re.M | re.S)


def load_snapshots(path: Path) -> dict[str, str]:
    """The snapshot file as ``{"<scenario>:<stream> - <n>": text}`` (trailing newline cut)."""
    entries: dict[str, str] = {}
    for match in _SNAPSHOT_ENTRY.finditer(path.read_text(encoding="utf-8")):
        body = match.group("body")
        entries[match.group("key")] = body[:-1] if body.endswith("\n") else body
    return entries


def feature_scenarios(path: Path) -> list[str]:
    """The scenario names of the feature file, in order."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("Scenario:"):
            names.append(stripped.removeprefix("Scenario:").strip())
    return names


@dataclass
class KeyPair:
    """A cosign key pair of the world, its public key written to ``pub_path``."""

    name: str
    signer: signing.Signer
    public_pem: str
    pub_path: Path


@dataclass
class Run:
    """One CLI run: exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Image:
    """An image pushed by the world: its repository (``acceptance/…``) and pinned reference."""

    repository: str
    ref: Reference
    digest: str
    config: dict[str, Any] = field(default_factory=dict)


class Acceptance:
    """The world of one scenario, in its own registry namespace and git repository prefix."""

    def __init__(self, registry_host: str, git_server: Any, tmp: Path) -> None:
        namespace = f"t{next(_NAMESPACES)}-{os.getpid()}"
        self.registry_host = registry_host
        self.registry = f"{registry_host}/{namespace}"
        self.git = git_server
        self.git_prefix = f"{namespace}-"
        self.tmp = tmp
        self.keys: dict[str, KeyPair] = {}
        self.images: dict[str, Image] = {}
        self.vars: dict[str, str] = {
            "REGISTRY": self.registry,
            "TMPDIR": str(tmp),
            "EC_VERSION": EC_VERSION,
        }
        self._registry, _ = open_registry(
            parse_reference(f"{registry_host}/x/y:z"),
            options=_registry_options(),
        )

    # ----------------------------------------------------------------- Given steps

    def key(self, name: str) -> KeyPair:
        """``Given a key pair named "<name>"``."""
        if name not in self.keys:
            pair = signing.generate_key_pair(b"")
            signer = signing.signer_from_pem(pair.private_pem, secrets=lambda _what: b"")
            public_pem = pair.public_pem.decode()
            pub_path = self.tmp / f"{name}.pub"
            pub_path.write_text(public_pem)
            self.keys[name] = KeyPair(name, signer, public_pem, pub_path)
            self.vars[f"{name}_PUBLIC_KEY"] = str(pub_path)
            self.vars[f"{name}_PUBLIC_KEY_JSON"] = public_pem.replace("\n", "\\n")
            self.vars[f"{name}_PUBLIC_KEY_XML"] = xml_escape(public_pem, {'"': "&#34;"}).replace(
                "\n", "&#xA;"
            )
        return self.keys[name]

    def image(
        self,
        repository: str,
        *,
        files: Mapping[str, bytes] | None = None,
        labels: Mapping[str, str] | None = None,
        parent: bool = True,
    ) -> Image:
        """``Given an image named "<repository>"``: a two-layer image tagged ``latest`` whose
        config carries the title label, built on a ``<repository>/parent`` image named in its
        ``org.opencontainers.image.base.*`` annotations (as the acceptance images are)."""
        annotations: dict[str, str] = {}
        if parent:
            base = self._push(f"{repository}/parent", layers=[_tar({"parent": b"p"})])
            annotations = {
                "org.opencontainers.image.base.name": f"{self._ref(base.repository)}:latest",
                "org.opencontainers.image.base.digest": base.digest,
            }
        layers = [_tar({"a": repository.encode()}), _tar({"b": b"layer two"})]
        if files:
            layers.append(_tar(files))
        return self._push(repository, layers=layers, labels=labels, annotations=annotations)

    def sign(
        self, repository: str, key: str, *, subject: str | None = None, referrer: bool = False
    ) -> None:
        """``Given a valid image signature of "<repository>" image signed by the "<key>" key``;
        with ``subject`` the signature (made for ``repository``) is stored under ``subject``'s
        digest instead (the "bad actor" of the mismatched-digest scenarios); ``referrer``
        stores it as an OCI 1.1 referrer (``… signature referrer of …``)."""
        image = self.images[repository]
        target = self.images[subject] if subject else image
        options = publish.PublishOptions(referrers=referrer)
        publish.sign_image(self._registry, image.ref, self.key(key).signer, options=options)
        if referrer:
            return
        if subject:
            self._copy_tag(repository, subject, "sig")
        self.vars[f"IMAGE_SIGNATURE_{target.repository}"] = self._signature(target, "sig")

    def attest(
        self,
        repository: str,
        key: str,
        *,
        predicate_patch: Mapping[str, Any] | None = None,
        slsa_v1: bool = False,
        subject: str | None = None,
        referrer: bool = False,
        bundle: bool = False,
    ) -> dict[str, Any]:
        """``Given a valid attestation of "<repository>" signed by the "<key>" key``: a SLSA
        v0.2 (or v1) provenance statement from the Chains builder, signed as DSSE; stored as
        an OCI 1.1 referrer with ``referrer``, as a Sigstore bundle referrer with ``bundle``."""
        image = self.images[repository]
        target = self.images[subject] if subject else image
        if slsa_v1:
            predicate_type = SLSA_V1
            predicate: dict[str, Any] = {
                "buildDefinition": {"buildType": BUILD_TYPE, "externalParameters": {}},
                "runDetails": {"builder": {"id": BUILDER_ID}},
            }
        else:
            predicate_type = SLSA_V02
            predicate = {
                "builder": {"id": BUILDER_ID},
                "buildType": BUILD_TYPE,
                "invocation": {"configSource": {}},
            }
        predicate.update(predicate_patch or {})
        statement = {
            "_type": STATEMENT_V01,
            "predicateType": predicate_type,
            "subject": [{"name": repository, "digest": {"sha256": image.digest.split(":")[1]}}],
            "predicate": predicate,
        }
        payload = json.dumps(statement).encode()
        signer = self.key(key).signer
        if bundle:
            envelope = signing.dsse.sign(payload, signer)
            publish.attach_bundle(self._registry, image.ref, envelope, signer)
            self.vars[f"ATTESTATION_SIGNATURE_{repository}"] = envelope.signatures[0].sig
            return statement
        options = publish.PublishOptions(referrers=referrer)
        publish.attest_statement(self._registry, image.ref, payload, signer, options=options)
        if referrer:
            return statement
        if subject:
            self._copy_tag(repository, subject, "att")
        self.vars[f"ATTESTATION_SIGNATURE_{target.repository}"] = self._signature(target, "att")
        return statement

    def git_repo(self, name: str, files: Mapping[str, str]) -> str:
        """``Given a git repository named "<name>" with`` files (path → text); its
        ``git::https://…`` URL. The commit becomes ``${LATEST_COMMIT}``."""
        repo = self.git.create_repo(self.git_prefix + name, dict(files))
        commit = _head(repo)
        self.vars["LATEST_COMMIT"] = commit
        return f"git::{repo.url}"

    def rego(self, *names: str) -> dict[str, str]:
        """The text of our Rego fixtures ``validate_image/<name>.rego`` by file name."""
        return {f"{n}.rego": (REGO_DIR / f"{n}.rego").read_text() for n in names}

    def bundle(self, repository_tag: str, files: Mapping[str, str]) -> str:
        """``Given a OCI policy bundle named "<repo:tag>" with`` files; the pinned ``oci::`` ref."""
        directory = self.tmp / "bundles" / repository_tag.replace("/", "_").replace(":", "_")
        directory.mkdir(parents=True)
        for rel, text in files.items():
            (directory / rel).write_text(text)
        pinned = push_bundle(
            [directory], f"{self.registry}/{repository_tag}", registry_options=_registry_options()
        )
        self.vars[f"REGISTRY_{repository_tag}_DIGEST"] = pinned.rsplit("@sha256:", 1)[1]
        return pinned

    def blob(self, repository: str, content: bytes) -> str:
        """``Given an OCI blob with content "…" in the repo "<repository>"``; its digest."""
        return self._registry.put_blob(self._repo_path(repository), content)

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(self.expand(text))
        return path

    def expand(self, text: str) -> str:
        """``${NAME}`` → the world's value (as the feature's steps expand arguments)."""
        return re.sub(r"\$\{([^}]+)\}", lambda m: self.vars.get(m.group(1), m.group(0)), text)

    # ----------------------------------------------------------------- When / Then

    def run(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> Run:
        """``konflux-supply <args>`` in a subprocess (exit code, stdout and stderr as text)."""
        environment = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "COSIGN_PASSWORD": "",
            "DOCKER_CONFIG": str(self.tmp / "no-docker-config"),
            "KONFLUX_SUPPLY_LOCK_DIR": str(self.tmp / "locks"),
            "NO_COLOR": "1",
            **(env or {}),
        }
        environment.pop("COSIGN_REPOSITORY", None)
        done = subprocess.run(
            [sys.executable, "-m", "konflux_supply", *[self.expand(a) for a in args]],
            capture_output=True,
            env=environment,
            cwd=self.tmp,
            timeout=300,
            check=False,
        )
        return Run(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )

    def normalise(self, text: str) -> str:
        """Our output with the world's values put back as ``${NAME}`` and every timestamp as
        ``${TIMESTAMP}`` — the same substitutions Conforma's snapshots went through."""
        text = text.replace("\r", "\\r")
        git_host = self.git.host
        replacements = dict(self.vars)
        # Our git server serves ``/<prefix><name>.git``; Conforma's ``/git/<name>.git``.
        pairs = [(f"{git_host}/{self.git_prefix}", "${GITHOST}/git/")]
        pairs += sorted(
            ((v, "${" + k + "}") for k, v in replacements.items() if v),
            key=lambda p: -len(p[0]),
        )
        for value, name in pairs:
            text = text.replace(value, name)
            text = text.replace(json.dumps(value), f'"{name}"')
        text = _TIMESTAMP.sub("${TIMESTAMP}", text)
        text = _EFFECTIVE_TIME.sub("${TIMESTAMP}", text)
        return _UNIX_TIME.sub(lambda m: f"{m.group(1)}${{TIMESTAMP}}{m.group(2)}", text)

    # ----------------------------------------------------------------- internals

    def _repo_path(self, repository: str) -> str:
        return parse_reference(self._ref(repository)).repository

    def _ref(self, repository: str) -> str:
        return f"{self.registry}/{repository}"

    def _push(
        self,
        repository: str,
        *,
        layers: Sequence[bytes],
        labels: Mapping[str, str] | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Image:
        repo = self._repo_path(repository)
        diff_ids = ["sha256:" + _sha256(layer) for layer in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {"org.opencontainers.image.title": repository, **(labels or {})}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        config_bytes = json.dumps(config, separators=(",", ":")).encode()
        for layer in layers:
            self._registry.put_blob(repo, layer)
        self._registry.put_blob(repo, config_bytes)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config_bytes),
            "layers": [_descriptor(OCI_LAYER, layer) for layer in layers],
        }
        if annotations:
            manifest["annotations"] = dict(annotations)
        raw = parse_manifest(json.dumps(manifest).encode(), OCI_MANIFEST)
        self._registry.put_manifest(repo, "latest", raw)
        ref = parse_reference(self._ref(repository)).with_digest(raw.digest)
        image = Image(repository, ref, raw.digest, config)
        self.images[repository] = image
        self.vars[f"REGISTRY_{repository}:latest_DIGEST"] = raw.digest.split(":")[1]
        return image

    def _tag_of(self, image: Image, kind: str) -> str:
        return image.digest.replace(":", "-") + f".{kind}"

    def _copy_tag(self, source: str, target: str, kind: str) -> None:
        """Move ``source``'s ``.sig``/``.att`` image to ``target``'s tag (and drop the source's)."""
        src, dst = self.images[source], self.images[target]
        src_repo, dst_repo = self._repo_path(source), self._repo_path(target)
        raw = self._registry.get_manifest(src_repo, self._tag_of(src, kind))
        assert raw is not None
        document = json.loads(raw.data)
        for descriptor in [document["config"], *document["layers"]]:
            data = self._registry.get_blob(src_repo, _descriptor_of(descriptor), limit=1 << 24)
            self._registry.put_blob(dst_repo, data)
        self._registry.put_manifest(dst_repo, self._tag_of(dst, kind), raw)

    def _signature(self, image: Image, kind: str) -> str:
        """The base64 signature of the last ``.sig`` layer, or of the ``.att`` layer's DSSE
        envelope, stored for ``image``."""
        repo = self._repo_path(image.repository)
        raw = self._registry.get_manifest(repo, self._tag_of(image, kind))
        assert raw is not None, f"no .{kind} for {image.repository}"
        layer = json.loads(raw.data)["layers"][-1]
        if kind == "sig":
            return str(layer["annotations"]["dev.cosignproject.cosign/signature"])
        envelope = json.loads(self._registry.get_blob(repo, _descriptor_of(layer), limit=1 << 24))
        return str(envelope["signatures"][0]["sig"])


def _descriptor_of(raw: Mapping[str, Any]) -> Descriptor:
    return Descriptor.model_validate(dict(raw))


def _registry_options() -> Any:
    from konflux_supply.oci import RegistryOptions

    return RegistryOptions(allow_http=True)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(data), "digest": "sha256:" + _sha256(data)}


def _tar(files: Mapping[str, bytes]) -> bytes:
    """An uncompressed tar layer with ``files`` (stable bytes: no times, no owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _head(repo: Any) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(repo.bare), "rev-parse", "refs/heads/main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ----------------------------------------------------------------------------- comparing


def parse_output(text: str) -> Any:
    """JSON or YAML text as data (for a comparison blind to key order and whitespace)."""
    try:
        return json.loads(text)
    except ValueError:
        import yaml

        return yaml.safe_load(text)


def same_commits(text: str) -> str:
    """Every pinned ``?ref=<commit>`` as ``?ref=${LATEST_COMMIT}``: Conforma's snapshots keep
    the commit ids of its own git fixtures (made by its steps, with its times) for all but the
    last repository; ours are made by ours. Applied to both sides."""
    return _PINNED_COMMIT.sub("?ref=${LATEST_COMMIT}", text)


def strip_error_details(document: Any) -> Any:
    """Cut ``Error: …`` tails of built-in check messages: the cause is worded by the
    verifier (cosign's Go errors in Conforma, ours here); the code and lead text are kept."""
    if isinstance(document, dict):
        return {
            k: (
                v.split(" Error: ")[0]
                if k == "msg" and isinstance(v, str)
                else strip_error_details(v)
            )
            for k, v in document.items()
        }
    if isinstance(document, list):
        return [strip_error_details(v) for v in document]
    return document
