"""Fakes for the known-bad cases of Conforma's release policy (see ``_conforma_bad``).

A fake registry answering Conforma's ``ec.oci.*`` / ``ec.sigstore.*`` builtins, documents
written for the cases (in-toto statements, CycloneDX and SPDX SBOMs, a Fulcio-like signing
certificate), helpers over the golden input's provenance, and the hostile world: the rule data
and registry content the hostile engine adds. Registry content is keyed by
``registry.acme.test`` references that only the mutated inputs name (``_conforma_bad``), so
one hostile engine serves every case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]
Builtin = tuple[int, Callable[..., Any]]

ACME = "registry.acme.test"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
INTOTO = "application/vnd.in-toto+json"


def digest(label: str) -> str:
    """A stable ``sha256:`` digest named by ``label`` (content we make up for a case)."""
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def acme_ref(repository: str, label: str) -> str:
    return f"{ACME}/{repository}@{digest(label)}"


# --- the fake registry ---------------------------------------------------------------------


@dataclass
class FakeRegistry:
    """Answers ``ec.oci.*`` and ``ec.sigstore.*`` from content written for the cases.

    A reference it does not hold is undefined (as ``ec`` when a fetch fails), except
    ``ec.oci.image_manifests``, which answers with the manifests it has (possibly none).
    """

    manifests: dict[str, Doc] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)
    descriptors: dict[str, Doc] = field(default_factory=dict)
    referrers: dict[str, list[Doc]] = field(default_factory=dict)
    image_signatures: dict[str, Doc] = field(default_factory=dict)
    attestations: dict[str, Doc] = field(default_factory=dict)

    def builtins(self, table: dict[str, Builtin]) -> dict[str, Builtin]:
        """``table`` (the offline builtins) with the registry's answers in place."""
        out = dict(table)
        out["ec.oci.image_manifest"] = (1, lambda ref: self.manifests.get(ref))
        out["ec.oci.blob"] = (1, lambda ref: self.blobs.get(ref))
        out["ec.oci.descriptor"] = (1, lambda ref: self.descriptors.get(ref))
        out["ec.oci.image_referrers"] = (1, lambda ref: self.referrers.get(ref))
        out["ec.oci.image_manifests"] = (
            1,
            lambda refs: {r: self.manifests[r] for r in refs or [] if r in self.manifests},
        )
        out["ec.sigstore.verify_image"] = (2, lambda ref, _opts: self.image_signatures.get(ref))
        out["ec.sigstore.verify_attestation"] = (2, lambda ref, _opts: self.attestations.get(ref))
        return out


# --- documents written for the cases -------------------------------------------------------


def statement(predicate_type: str, predicate: Doc, subject_digest: str) -> Doc:
    """An input attestation (``{statement, signatures}``) about one subject."""
    algorithm, _, value = subject_digest.partition(":")
    return {
        "statement": {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{"name": f"{ACME}/subject", "digest": {algorithm: value}}],
            "predicate": predicate,
        },
        "signatures": [],
    }


def cyclonedx(components: list[Doc], spec: str = "1.5", **extra: Any) -> Doc:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "version": 1,
        "metadata": {"timestamp": "2026-01-02T03:04:05Z"},
        "components": components,
        **extra,
    }


def spdx(name: str, packages: list[Doc], files: list[Doc]) -> Doc:
    return {
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "dataLicense": "CC0-1.0",
        "name": name,
        "documentNamespace": "https://acme.test/spdx/known-bad",
        "creationInfo": {"created": "2026-01-02T03:04:05Z", "creators": ["Tool: acme-sbom"]},
        "packages": packages,
        "files": files,
    }


def add_cyclonedx(doc: Doc, bom: Doc) -> None:
    doc["attestations"].append(statement("https://cyclonedx.org/bom", bom, digest("image")))


def add_spdx(doc: Doc, bom: Doc) -> None:
    doc["attestations"].append(statement("https://spdx.dev/Document", bom, digest("image")))


def provenance(doc: Doc) -> Doc:
    """The golden input's SLSA v0.2 PipelineRun provenance predicate."""
    predicate: Doc = doc["attestations"][0]["statement"]["predicate"]
    return predicate


def tasks(doc: Doc) -> list[Doc]:
    found: list[Doc] = provenance(doc)["buildConfig"]["tasks"]
    return found


def result(task: Doc, name: str) -> Any:
    return next((r["value"] for r in task.get("results", []) if r["name"] == name), None)


def set_result(task: Doc, name: str, value: Any) -> None:
    results = task.setdefault("results", [])
    for entry in results:
        if entry["name"] == name:
            entry["value"] = value
            return
    results.append({"name": name, "type": "string", "value": value})


def task_named(doc: Doc, ref_name: str) -> Doc:
    """A copy of the golden ``init`` task posing as the task ``ref_name``."""
    task: Doc = json.loads(json.dumps(tasks(doc)[0]))
    task["name"] = ref_name
    task["ref"]["params"] = [
        {"name": "name", "value": ref_name} if p["name"] == "name" else p
        for p in task["ref"]["params"]
    ]
    labels = task["invocation"]["environment"]["labels"]
    labels["tekton.dev/task"] = ref_name
    labels["tekton.dev/pipelineTask"] = ref_name
    task["invocation"]["parameters"] = {}
    task["results"] = []
    return task


def build_tasks(doc: Doc) -> Iterator[Doc]:
    """The golden per-platform build tasks (an IMAGE_DIGEST result, no IMAGES result)."""
    for task in tasks(doc):
        if result(task, "IMAGE_DIGEST") and not result(task, "IMAGES"):
            yield task


def fulcio_like_certificate(extensions: dict[int, str]) -> str:
    """A PEM code-signing certificate with Fulcio's GitHub workflow extensions
    (``1.3.6.1.4.1.57264.1.<n>``, raw values), self-signed for this check."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acme.test")])
    start = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(minutes=10))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier("https://github.com/acme/evil/.github/w.yml")]
            ),
            critical=True,
        )
    )
    for number, value in sorted(extensions.items()):
        oid = ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{number}")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value.encode()), False)
    certificate = builder.sign(key, hashes.SHA256())
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- the hostile world ---------------------------------------------------------------------

#: Rule data the hostile engine adds to ``example/data`` (each key read by one package only).
HOSTILE_RULE_DATA: Doc = {
    "known_attestation_types": ["https://acme.test/Statement"],
    "allowed_predicate_types": ["https://acme.test/only-this"],
    "pipeline_intention": "release",
    "disallowed_weekdays": [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ],
    "allowed_gh_workflow_repos": ["acme/trusted"],
    "allowed_maven_repositories": ["https://maven.acme.test/releases/"],
}


def hostile_registry(golden: Doc) -> FakeRegistry:
    """The registry content the hostile cases point at (all under ``registry.acme.test``)."""
    registry = FakeRegistry()
    # labels: an image whose config lacks the required labels
    image = acme_ref("labels", "image without labels")
    registry.manifests[image] = {"schemaVersion": 2, "config": {"digest": digest("config")}}
    registry.blobs[f"{ACME}/labels@{digest('config')}"] = json.dumps(
        {"config": {"Labels": {"vendor": "Acme"}}}
    )
    # cve: a scan report with a critical vulnerability that has a fix
    report = {"mediaType": "application/vnd.redhat.clair-report+json", "digest": digest("blob")}
    registry.manifests[f"{ACME}/cve@{digest('report')}"] = {"schemaVersion": 2, "layers": [report]}
    vulnerability = {
        "name": "CVE-2001-0001",
        "normalized_severity": "Critical",
        "fixed_in_version": "1.2.3",
    }
    registry.blobs[f"{ACME}/cve@{digest('blob')}"] = json.dumps(
        {"vulnerabilities": {"1": vulnerability}}
    )
    # rpm_packages: an image index whose platforms install different openssl builds
    registry.descriptors[acme_ref("multi", "index")] = {"mediaType": OCI_INDEX}
    for platform, version in (("linux/amd64", "3.0.1-1"), ("linux/arm64", "3.0.2-4")):
        arch = platform.split("/")[1]
        component = {
            "type": "library",
            "name": "openssl",
            "purl": f"pkg:rpm/acme/openssl@{version}?arch={arch}&distro=acme-9",
        }
        registry.blobs[acme_ref("multi", f"sbom {platform}")] = json.dumps(cyclonedx([component]))
    # source_image: a source image without layers whose signature does not verify
    source = f"{ACME}/source@{digest('source image')}"
    registry.descriptors[source] = {"mediaType": OCI_MANIFEST, "digest": digest("source image")}
    registry.manifests[source] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}
    registry.image_signatures[source] = {
        "success": False,
        "errors": ["no signature matches the configured key"],
        "signatures": [],
    }
    # test_attestation: a test-result attestation, itself attested by the golden (trusted)
    # pipeline, reporting a failure
    tested = acme_ref("tested", "tested image")
    attestation = acme_ref("tested", "test attestation")
    registry.referrers[tested] = [
        {
            "artifactType": INTOTO,
            "mediaType": OCI_MANIFEST,
            "ref": attestation,
            "digest": digest("test attestation"),
        }
    ]
    producer = json.loads(json.dumps(golden["attestations"][0]))
    producer["statement"]["subject"] = [
        {"name": f"{ACME}/tested", "digest": {"sha256": digest("test attestation")[7:]}}
    ]
    registry.attestations[attestation] = {"success": True, "attestations": [producer]}
    registry.manifests[attestation] = {
        "schemaVersion": 2,
        "layers": [{"mediaType": INTOTO, "digest": digest("test statement")}],
    }
    test_result = {
        "_type": "https://in-toto.io/Statement/v1",
        "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
        "subject": [{"name": f"{ACME}/tested", "digest": {"sha256": digest("tested image")[7:]}}],
        "predicate": {
            "result": "FAILED",
            "configuration": [{"name": "acme-integration"}],
            "failures": 2,
            "failedTests": ["login", "logout"],
        },
    }
    registry.blobs[f"{ACME}/tested@{digest('test statement')}"] = json.dumps(test_result)
    return registry
