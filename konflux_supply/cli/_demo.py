"""``konflux-supply demo``: the whole product end to end, on embedded defaults, offline.

What a Konflux build and release do with Tekton Chains, cosign and Conforma, in one command
and one directory, through the public library API a user would call:

1. a cosign key pair (``cosign.key`` encrypted with an empty password, ``cosign.pub``);
2. the sample build PipelineRun of ``fixtures/provenance/runs/`` with its child TaskRuns,
   whose image — a small deterministic one — is built into an OCI image layout;
3. :func:`konflux_supply.chains.sign_run` signs the runs into that layout as Chains would
   (the image ``.sig``, the PipelineRun's provenance ``.att``); an SBOM is attached
   (``.sbom``) and attested with :mod:`konflux_supply.publish`;
4. :func:`konflux_supply.release.validate` checks the image against the project's policy
   library (``policies/``, collection ``slsa3`` with the example rule data) with the
   embedded engine: a passing report, printed as text;
5. two tampered copies of the image are rejected, each with the code that says why: one whose
   provenance attestation was signed by another key, one whose provenance names a builder
   the policy does not trust.

Progress and the report go to stderr; a JSON summary (paths, references, verdicts, commands
to run again) to stdout. Exit 0 only when the image passes and both copies are rejected with
the expected codes; 1 when a verdict is not the expected one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

if TYPE_CHECKING:
    from konflux_supply import oci, sbom, signing
    from konflux_supply.chains import Config
    from konflux_supply.policy import ComponentReport

#: Written into the work directory so that a re-run may replace what an earlier demo made.
MARKER = ".konflux-supply-demo"
#: Everything a demo writes in its directory: a re-run or a failed run removes these and
#: nothing else, and a directory holding anything more is refused.
OUTPUTS = (
    MARKER,
    "cosign.key",
    "cosign.pub",
    "layout",
    "pipelinerun.json",
    "sbom.cdx.json",
    "tampered-key",
    "untrusted-builder",
    "policy.yaml",
    "report.txt",
    "report.json",
)
GREETING = b"hello from the konflux-supply demo\n"
#: The sample runs' made-up image digest, replaced by the digest of the image really built.
FIXTURE_DIGEST = "sha256:a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333"
RUNS = ("pipelinerun-build.yaml", "taskrun-clone.yaml", "taskrun-build-image.yaml")
RUNS_FINALLY = ("taskrun-notify.yaml",)
#: Chains configured as Konflux configures it: PipelineRun provenance (in-toto, deep
#: inspection) stored in OCI, the image signed, no TaskRun provenance.
CHAINS_CONFIG = {
    "artifacts.pipelinerun.format": "in-toto",
    "artifacts.pipelinerun.storage": "oci",
    "artifacts.pipelinerun.enable-deep-inspection": "true",
    "artifacts.taskrun.storage": "",
    "artifacts.oci.storage": "oci",
}
COLLECTION = "slsa3"
RULE_DATA = "policies/examples/minimal/data"
UNTRUSTED_BUILDER = "https://ci.example.com/someone-elses-chains"
#: The tampered copies: directory, what was changed, and the code that must reject it.
TAMPERED = {
    "tampered-key": (
        "attestations (provenance, SBOM) signed by another key",
        "builtin.attestation.signature_check",
    ),
    "untrusted-builder": (
        f"provenance names the builder {UNTRUSTED_BUILDER}",
        "slsa_build_build_service.slsa_builder_id_accepted",
    ),
}


def register(group: click.Group) -> None:
    """Add the ``demo`` command."""
    group.add_command(demo)


def _say(message: str) -> None:
    click.echo(message, err=True)


def _layer_tar() -> bytes:
    """A reproducible one-file filesystem layer (fixed times and owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mode, info.mtime = len(GREETING), 0o644, 0
        tar.addfile(info, io.BytesIO(GREETING))
    return buffer.getvalue()


def _image() -> tuple[bytes, bytes, bytes]:
    """``(config, compressed layer, manifest)`` of the demo image (deterministic bytes)."""
    tar = _layer_tar()
    layer = gzip.compress(tar, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["cat", "/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [_sha256(tar)]},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": len(config),
                "digest": _sha256(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "size": len(layer),
                    "digest": _sha256(layer),
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    return config, layer, manifest


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _checkout() -> Path:
    """The source tree holding ``fixtures/`` and ``policies/`` (``make demo`` installs the
    package editable from it)."""
    from konflux_supply.errors import InputError

    root = Path(__file__).resolve().parents[2]
    for needed in ("fixtures/provenance/runs", "policies/release", RULE_DATA):
        if not (root / needed).is_dir():
            raise InputError(
                f"{needed}/ not found next to the package",
                source=str(root),
                hint="run the demo from a source checkout (`make demo`)",
            )
    return root


def _sample_runs(root: Path, digest: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fixture PipelineRun and its child TaskRuns, reporting the image really built.

    Adjusted for the demo: the image digest is the one built; the build task's
    ``sbom-ARTIFACT_OUTPUTS`` (a made-up SBOM digest) is dropped — the demo attaches and
    attests a real SBOM instead; and the runs are as Chains first sees them (no
    ``chains.tekton.dev/*`` annotations yet).
    """
    folder = root / "fixtures" / "provenance" / "runs"
    runs = [yaml.safe_load((folder / name).read_text()) for name in RUNS + RUNS_FINALLY]
    for run in runs:
        annotations = run["metadata"].get("annotations", {})
        for key in [k for k in annotations if k.startswith("chains.tekton.dev/")]:
            del annotations[key]
        results = run.get("status", {}).get("results", [])
        for result in results:
            if result.get("value") == FIXTURE_DIGEST:
                result["value"] = digest
        results[:] = [r for r in results if r.get("name") != "sbom-ARTIFACT_OUTPUTS"]
    return runs[0], runs[1:]


def _build_task(children: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in children if c["metadata"]["labels"].get("tekton.dev/task") == "buildah")


def _result(run: dict[str, Any], name: str) -> str:
    return str(next(r["value"] for r in run["status"]["results"] if r["name"] == name))


def _repository(url: str) -> str:
    """``registry/repo:tag`` without the tag."""
    name, _, tag = url.rpartition(":")
    return name if name and "/" not in tag else url


def _bom(image: oci.Reference, repository: str) -> sbom.Sbom:
    from konflux_supply import sbom

    return sbom.generate(
        str(image),
        repository=repository,
        components=[
            {
                "type": "file",
                "name": "hello.txt",
                "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(GREETING).hexdigest()}],
            }
        ],
    )


def _publish(
    layout: Path,
    root: Path,
    *,
    config: Config,
    signer: signing.Signer,
    attestation_signer: signing.Signer,
) -> tuple[oci.Reference, dict[str, Any], sbom.Sbom]:
    """Build the image into ``layout``, sign its runs into it, attach and attest an SBOM.

    ``signer`` signs the image; ``attestation_signer`` the provenance and SBOM attestations.

    Returns the image (by digest), the PipelineRun as signed (annotated as Chains annotates
    it), and the SBOM.
    """
    from konflux_supply import chains, oci, publish
    from konflux_supply.errors import RegistryError
    from konflux_supply.models.oci import parse_manifest

    registry, tagged = oci.open_registry(f"oci:{layout}:demo")
    try:
        config_blob, layer, manifest_bytes = _image()
        registry.put_blob(tagged.repository, config_blob)
        registry.put_blob(tagged.repository, layer)
        manifest = parse_manifest(manifest_bytes)
        registry.put_manifest(tagged.repository, "demo", manifest)
        image = tagged.with_digest(manifest.digest)

        pipeline_run, children = _sample_runs(root, manifest.digest)
        build = _build_task(children)
        # As Chains does: the build TaskRun (the image .sig), then the PipelineRun (its
        # provenance, with the child TaskRuns read by deep inspection, as .att).
        outcomes = [
            chains.sign_run(build, config, registry=registry, signer=signer),
            chains.sign_run(
                pipeline_run,
                config,
                children=children,
                registry=registry,
                signer=attestation_signer,
            ),
        ]
        for outcome in outcomes:
            if not outcome.signed:
                raise RegistryError(f"sign_run did not store everything: {outcome.status_map()}")
        # What a controller merge-patches into the run's annotations (signed: "true").
        annotations = pipeline_run["metadata"].setdefault("annotations", {})
        for key, value in outcomes[1].annotations_to_patch().items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value

        bom = _bom(image, _repository(_result(build, "IMAGE_URL")))
        publish.attach_sbom(registry, image, bom)
        publish.attest_sbom(registry, image, bom, attestation_signer)
    finally:
        registry.close()
    return image, pipeline_run, bom


def _policy_document(root: Path) -> dict[str, Any]:
    return {
        "apiVersion": "appstudio.redhat.com/v1alpha1",
        "kind": "EnterpriseContractPolicy",
        "metadata": {"name": "konflux-supply-demo"},
        "spec": {
            "description": f"The project's @{COLLECTION} collection (policies/), as the demo "
            "runs it; the public key comes from --public-key.",
            "sources": [
                {
                    "name": "release",
                    "policy": [str(root / "policies" / "lib"), str(root / "policies" / "release")],
                    "data": [str(root / RULE_DATA)],
                    "config": {"include": [f"@{COLLECTION}"]},
                }
            ],
        },
    }


def _codes(component: ComponentReport) -> list[str]:
    codes = {str(v.get("metadata", {}).get("code", "")) for v in component.violations}
    return sorted(code for code in codes if code)


@click.command("demo")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("konflux-supply-demo"),
    show_default=True,
    help="Directory for the key pair, the OCI layouts and the outputs (new, empty, or an "
    "earlier demo's, which is replaced).",
)
def demo(workdir: Path) -> int:
    """Build, sign and release-check an image end to end (offline, embedded defaults)."""
    existed = workdir.exists()
    _check_workdir(workdir)
    try:
        return _run(workdir)
    except BaseException:
        # A failed or interrupted demo leaves nothing half-made behind (only what it made).
        _remove_outputs(workdir)
        if not existed:
            with contextlib.suppress(OSError):
                workdir.rmdir()
        raise


def _check_workdir(workdir: Path) -> None:
    """A new or empty directory, or one holding only an earlier demo's outputs."""
    from konflux_supply.errors import InputError

    if not workdir.exists():
        return
    names = {entry.name for entry in workdir.iterdir()}
    if names and MARKER not in names:
        raise InputError(
            "the directory is not empty and was not made by an earlier demo",
            source=str(workdir),
            hint="pass --workdir with a new or empty directory",
        )
    others = sorted(names - set(OUTPUTS))
    if others:
        raise InputError(
            f"the directory holds files the demo did not make ({', '.join(others[:3])}); "
            "they are left alone",
            source=str(workdir),
            hint="move them away, or pass --workdir with a new or empty directory",
        )


def _remove_outputs(workdir: Path) -> None:
    """Remove what a demo writes in ``workdir``, and nothing else."""
    for name in OUTPUTS:
        path = workdir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _prepare(workdir: Path) -> None:
    _remove_outputs(workdir)  # an earlier demo's output: start afresh
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `konflux-supply demo`; a re-run replaces this folder\n")


def _program() -> str:
    """How to run this CLI again from the user's shell: bare when it is on PATH, else the
    script beside the interpreter (``.venv/bin/konflux-supply`` after ``make demo``)."""
    found = shutil.which("konflux-supply")
    if found:
        return "konflux-supply"
    beside = Path(sys.executable).parent / "konflux-supply"
    return str(beside) if beside.is_file() else "python -m konflux_supply"


def _run(workdir: Path) -> int:
    from konflux_supply import chains, oci, policy, release, signing

    started = time.monotonic()
    root = _checkout()
    _prepare(workdir)

    # 1. Keys: ours, and a stranger's for the first tampered copy.
    pair = signing.generate_key_pair(b"")
    key_path, pub_path = signing.write_key_pair(pair, workdir / "cosign")
    signer = signing.load_signer(str(key_path), secrets=lambda _what: b"")
    stranger = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
    _say(f"1. key pair: {key_path} (empty password), {pub_path}")

    # 2-3. The sample PipelineRun's image in an OCI layout, signed as Chains signs it.
    config = chains.Config.from_data(CHAINS_CONFIG)
    layout = workdir / "layout"
    image, pipeline_run, bom = _publish(
        layout, root, config=config, signer=signer, attestation_signer=signer
    )
    run_name = f"{pipeline_run['metadata']['namespace']}/{pipeline_run['metadata']['name']}"
    (workdir / "pipelinerun.json").write_text(json.dumps(pipeline_run, indent=2) + "\n")
    (workdir / "sbom.cdx.json").write_bytes(bom.to_bytes())
    _say(f"2. PipelineRun {run_name} (fixtures/provenance/runs) built {image}")
    _say(f"3. chains.sign_run: signed   {oci.triangulate(image, oci.Kind.SIGNATURE)}")
    _say(f"                    attested {oci.triangulate(image, oci.Kind.ATTESTATION)}")
    _say(f"   SBOM attached {oci.triangulate(image, oci.Kind.SBOM)} and attested")
    signed = pipeline_run["metadata"]["annotations"].get(chains.SIGNED)
    _say(f"   run annotated {chains.SIGNED}: {signed!r} ({workdir / 'pipelinerun.json'})")

    # The tampered copies: the same image, published with one thing wrong.
    copies: dict[str, oci.Reference] = {}
    copies["tampered-key"], _, _ = _publish(
        workdir / "tampered-key", root, config=config, signer=signer, attestation_signer=stranger
    )
    untrusted = chains.Config.from_data({**CHAINS_CONFIG, "builder.id": UNTRUSTED_BUILDER})
    copies["untrusted-builder"], _, _ = _publish(
        workdir / "untrusted-builder",
        root,
        config=untrusted,
        signer=signer,
        attestation_signer=signer,
    )
    _say(f"   tampered copies: {', '.join(f'{d}/ ({TAMPERED[d][0]})' for d in copies)}")

    # 4. The release gate, as `konflux-supply validate image` runs it: one Snapshot with the
    #    image and its two tampered copies, one engine for the three.
    policy_path = workdir / "policy.yaml"
    policy_path.write_text(yaml.safe_dump(_policy_document(root), sort_keys=False))
    ecp = policy.load_policy(str(policy_path))
    snapshot = release.Snapshot.from_dict(
        {
            "components": [
                {"name": name, "containerImage": str(ref)}
                for name, ref in {"demo": image, **copies}.items()
            ]
        }
    )
    options = release.ValidateOptions(public_key=str(pub_path), engine_workers=1)
    full = release.validate(snapshot, ecp, options=options)
    by_name = {c.name: c for c in full.components}
    good = by_name["demo"]
    report = dataclasses.replace(full, components=(good,))
    text = policy.render(report, "text").decode()
    (workdir / "report.txt").write_text(text)
    (workdir / "report.json").write_bytes(report.to_json())
    verdict = "PASSED" if report.success else "FAILED"
    _say(f"4. release.validate ({COLLECTION}, {policy_path}): {verdict}\n")
    _say(text.rstrip("\n") + "\n")

    # 5. The tampered copies must be rejected, each for its own reason.
    rejected: list[dict[str, Any]] = []
    for name, (what, expected) in TAMPERED.items():
        component = by_name[name]
        codes = _codes(component)
        ok = not component.success and component.error is None and expected in codes
        rejected.append(
            {
                "name": name,
                "image": str(copies[name]),
                "tampered": what,
                "expected": expected,
                "codes": codes,
                "rejected": ok,
            }
        )
        mark = "REJECTED" if ok else "NOT REJECTED AS EXPECTED"
        _say(f"5. {name} ({what}): {mark}, codes: {', '.join(codes) or 'none'}")

    passed = report.success and all(r["rejected"] for r in rejected)
    seconds = time.monotonic() - started
    _say(f"{'done' if passed else 'FAILED'} in {seconds:.1f} s")
    program = _program()
    summary = {
        "workdir": str(workdir),
        "image": str(image),
        "publicKey": str(pub_path),
        "pipelineRun": run_name,
        "signatureTag": str(oci.triangulate(image, oci.Kind.SIGNATURE)),
        "attestationTag": str(oci.triangulate(image, oci.Kind.ATTESTATION)),
        "sbomTag": str(oci.triangulate(image, oci.Kind.SBOM)),
        "verified": {
            "signatures": len(good.signatures),
            "attestations": sorted({a.predicate_type for a in good.attestations}),
        },
        "policy": str(policy_path),
        "validation": {
            "success": report.success,
            "violations": len(good.violations),
            "warnings": len(good.warnings),
            "successes": good.successes_total,
            "report": str(workdir / "report.json"),
        },
        "rejected": rejected,
        "success": passed,
        "next": [
            f"{program} verify --key {pub_path} {image}",
            f"{program} verify-attestation --key {pub_path} --type slsaprovenance {image}",
            f"{program} validate image --policy {policy_path} --public-key {pub_path} "
            f"--image {image}",
            f"{program} validate image --policy {policy_path} --public-key {pub_path} "
            f"--image {copies['untrusted-builder']}",
        ],
    }
    click.echo(json.dumps(summary, indent=2))
    return 0 if passed else 1
