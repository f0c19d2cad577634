"""Image commands, mirroring cosign: ``sign``, ``attest``, ``attach sbom``, ``verify``,
``verify-attestation``, ``triangulate``, ``copy``.

IMAGE is ``registry/repo[:tag|@sha256:…]`` (a tag is resolved to a digest once) or an OCI
layout ``oci:DIR[:TAG|@sha256:…]``. ``COSIGN_REPOSITORY`` relocates signatures and
attestations, ``COSIGN_DOCKER_MEDIA_TYPES=1`` writes Docker media types, as in cosign.
``verify`` prints what ``cosign verify`` prints: the header on stderr, the JSON list of the
verified payloads on stdout. A registry that cannot answer exits 3 with the cause.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from konflux_supply.cli._common import read_bytes, registrar
from konflux_supply.cli._keys import _GoFlags, backend_config, secrets_from_environment
from konflux_supply.cli._registry import registry_options, repository_override, writer_options
from konflux_supply.cli._sbom import attachable_sbom, check_sbom_predicate
from konflux_supply.cli._trust import transparency_log
from konflux_supply.errors import InputError

if TYPE_CHECKING:
    from konflux_supply.oci import AppendPolicy, RegistryOptions
    from konflux_supply.publish import PublishOptions
    from konflux_supply.verify import Keys, VerifyOptions

__all__ = ["register"]

_REFERRERS_MODE = click.Choice(["legacy", "oci-1-1"])
#: cosign's ``--type`` (a predicate type name or URI), for ``attest`` and ``verify-attestation``.
_TYPE = click.option(
    "--type", "predicate_type", default="custom", show_default=True, metavar="TYPE"
)


def _annotations(values: Sequence[str]) -> dict[str, str] | None:
    if not values:
        return None
    out: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise InputError(f"expected key=value, got {value!r}", field="--annotations")
        out[key] = item
    return out


def _docker_media_types() -> bool:
    return os.environ.get("COSIGN_DOCKER_MEDIA_TYPES", "").lower() in ("1", "true", "t")


def _publish_options(registry_referrers_mode: str, append_policy: AppendPolicy) -> PublishOptions:
    """Where and how a write goes, as cosign decides it: ``COSIGN_REPOSITORY``, a referrer or
    the triangulated tag, ``COSIGN_DOCKER_MEDIA_TYPES``."""
    from konflux_supply.publish import PublishOptions

    return PublishOptions(
        policy=append_policy,
        repository=repository_override(),
        referrers=registry_referrers_mode == "oci-1-1",
        docker_media_types=_docker_media_types(),
    )


def _no_tlog(tlog_upload: bool) -> None:
    if tlog_upload:
        raise InputError(
            "uploading to a transparency log is not supported",
            field="--tlog-upload",
            hint="pass --tlog-upload=false (key-based signatures, as Konflux uses them)",
        )


def _signer(key: str) -> Any:
    from konflux_supply import signing

    return signing.load_signer(key, secrets=secrets_from_environment(), config=backend_config())


def _key_policy(key: str, trusted_root: str | None, ignore_tlog: bool, *, bundles: bool) -> Keys:
    """``verify.Keys`` for ``--key``, with the log choice (required when ``bundles`` are read)."""
    from konflux_supply import signing, verify

    log = transparency_log(trusted_root, ignore_tlog, needed=bundles)
    verifier = signing.load_verifier(
        key, secrets=secrets_from_environment(), config=backend_config()
    )
    return verify.Keys([verifier], transparency_log=log)


def _placement_args(f: Any) -> Any:
    """``--registry-referrers-mode``, ``--settle`` and the registry flags; the command gets
    ``registry_options`` and ``publish_options``."""

    @functools.wraps(f)
    def wrapper(
        *args: Any, registry_referrers_mode: str, append_policy: AppendPolicy, **kwargs: Any
    ) -> Any:
        kwargs["publish_options"] = _publish_options(registry_referrers_mode, append_policy)
        return f(*args, **kwargs)

    wrapper = click.option(
        "--registry-referrers-mode",
        type=_REFERRERS_MODE,
        default="legacy",
        show_default=True,
        help="legacy: cosign's sha256-<hex>.<kind> tags; oci-1-1: an OCI 1.1 referrer.",
    )(wrapper)
    return writer_options(registry_options(wrapper))


def _writer_args(f: Any) -> Any:
    """:func:`_placement_args` plus cosign's ``--tlog-upload`` (only false) and ``--yes``."""

    @functools.wraps(f)
    def wrapper(*args: Any, tlog_upload: bool, yes: bool, **kwargs: Any) -> Any:
        _no_tlog(tlog_upload)
        return f(*args, **kwargs)

    wrapper = click.option(
        "--tlog-upload/--no-tlog-upload",
        default=False,
        help="Accepted for cosign compatibility; only =false is supported.",
    )(wrapper)
    wrapper = click.option("--yes", "-y", is_flag=True, help="Accepted for cosign compatibility.")(
        wrapper
    )
    return _placement_args(wrapper)


@click.command("sign", cls=_GoFlags)
@click.option("--key", "-k", required=True, metavar="KEYREF", help="Private key or KMS URI.")
@click.option("--annotations", "-a", multiple=True, metavar="KEY=VALUE", help="Signed extras.")
@click.option(
    "--sign-container-identity",
    metavar="REPOSITORY",
    help="The docker-reference to sign for (default: the image's repository).",
)
@_writer_args
@click.argument("image", metavar="IMAGE")
def sign(
    key: str,
    annotations: Sequence[str],
    sign_container_identity: str | None,
    image: str,
    registry_options: RegistryOptions,
    publish_options: PublishOptions,
) -> None:
    """Sign an image (cosign's simple-signing payload, stored in sha256-<hex>.sig)."""
    from konflux_supply import oci, publish

    signer = _signer(key)
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        attached = publish.sign_image(
            registry,
            ref,
            signer,
            options=publish_options,
            annotations=_annotations(annotations),
            identity=sign_container_identity,
        )
    verb = "Pushing signature to" if attached.written else "Signature already present in"
    click.echo(f"{verb}: {attached.location}", err=True)


@click.command("attest", cls=_GoFlags)
@click.option("--key", "-k", required=True, metavar="KEYREF", help="Private key or KMS URI.")
@click.option("--predicate", required=True, metavar="FILE", help="The predicate (- = stdin).")
@_TYPE
@_writer_args
@click.argument("image", metavar="IMAGE")
def attest(
    key: str,
    predicate: str,
    predicate_type: str,
    image: str,
    registry_options: RegistryOptions,
    publish_options: PublishOptions,
) -> None:
    """Attest to an image: an in-toto statement as a DSSE envelope in sha256-<hex>.att."""
    from konflux_supply import oci, publish

    data = read_bytes(predicate)
    check_sbom_predicate(data, predicate, predicate_type)
    signer = _signer(key)
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        attached = publish.attest_image(
            registry, ref, signer, data, predicate_type, options=publish_options
        )
    click.echo(f"Pushing attestation to: {attached.location}", err=True)


@click.group("attach")
def attach() -> None:
    """Attach artifacts to an image."""


_SBOM_DEPRECATION = (
    "WARNING: SBOM attachments are deprecated (see sigstore/cosign#2755); "
    "prefer SBOM attestations: attest --type cyclonedx|spdxjson"
)


@attach.command("sbom")
@click.option("--sbom", "sbom_path", required=True, metavar="FILE", help="The SBOM (- = stdin).")
@click.option(
    "--type",
    "sbom_type",
    type=click.Choice(["spdx", "cyclonedx", "syft"]),
    default=None,
    help="Optional: checked against the document, which decides the media type.",
)
@click.option(
    "--input-format",
    type=click.Choice(["json", "xml", "text"]),
    default=None,
    help="Optional: checked against the document.",
)
@_placement_args
@click.argument("image", metavar="IMAGE")
def attach_sbom(
    sbom_path: str,
    sbom_type: str | None,
    input_format: str | None,
    image: str,
    registry_options: RegistryOptions,
    publish_options: PublishOptions,
) -> None:
    """Attach an SBOM as cosign does (sha256-<hex>.sbom; deprecated by cosign).

    The SBOM is parsed first (media type from the document); a bad one is never pushed.
    """
    from konflux_supply import oci, publish

    click.echo(_SBOM_DEPRECATION, err=True)
    document = attachable_sbom(sbom_path, sbom_type, input_format)
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        attached = publish.attach_sbom(registry, ref, document, options=publish_options)
    click.echo(f"Uploaded SBOM ({document.media_type}) to: {attached.location}", err=True)


def _verify_args(f: Any) -> Any:
    """The verify flags; the command gets ``keys`` (a ``verify.Keys`` with the log choice) and
    ``verify_options`` (where to look: ``COSIGN_REPOSITORY``, referrers and bundles)."""

    @functools.wraps(f)
    def wrapper(
        *args: Any,
        insecure_ignore_tlog: bool,
        new_bundle_format: bool,
        trusted_root: str | None,
        key: str,
        **kwargs: Any,
    ) -> Any:
        from konflux_supply import verify

        kwargs["keys"] = _key_policy(
            key, trusted_root, insecure_ignore_tlog, bundles=new_bundle_format
        )
        kwargs["verify_options"] = verify.VerifyOptions(
            repository=repository_override(),
            referrers=True,  # what sign wrote in either --registry-referrers-mode
            bundles=new_bundle_format,
        )
        return f(*args, **kwargs)

    wrapper = click.option(
        "--insecure-ignore-tlog/--no-insecure-ignore-tlog",
        default=False,
        help="Read Sigstore bundles (--new-bundle-format) without checking their "
        "transparency-log entries. Cosign signatures (tag or oci-1-1 referrer) are read "
        "without it.",
    )(wrapper)
    wrapper = click.option(
        "--new-bundle-format/--no-new-bundle-format",
        default=False,
        help="Also read Sigstore bundle referrers (cosign v3); needs --trusted-root or "
        "--insecure-ignore-tlog. Signatures stored as tags or as oci-1-1 referrers are "
        "always read.",
    )(wrapper)
    wrapper = click.option("--trusted-root", metavar="FILE", help="trusted_root.json for bundles.")(
        wrapper
    )
    wrapper = click.option(
        "--key", "-k", required=True, metavar="PUBREF", help="Public key/KEYREF."
    )(wrapper)
    return registry_options(wrapper)


def _header(reference: str, annotations: bool) -> None:
    lines = [
        "",
        f"Verification for {reference} --",
        "The following checks were performed on each of these signatures:",
    ]
    if annotations:
        lines.append("  - The specified annotations were verified.")
    lines += [
        "  - The cosign claims were validated",
        "  - The signatures were verified against the specified public key",
    ]
    click.echo("\n".join(lines), err=True)


@click.command("verify", cls=_GoFlags)
@click.option("--annotations", "-a", multiple=True, metavar="KEY=VALUE", help="Required extras.")
@click.option("--output", "-o", type=click.Choice(["json", "text"]), default="json")
@_verify_args
@click.argument("image", metavar="IMAGE")
def verify_cmd(
    annotations: Sequence[str],
    output: str,
    image: str,
    registry_options: RegistryOptions,
    keys: Keys,
    verify_options: VerifyOptions,
) -> None:
    """Verify an image's signatures; print the verified payloads (cosign's output)."""
    from konflux_supply import oci, verify

    wanted = _annotations(annotations)
    policy = verify.AllOf(keys, verify.Annotations(wanted or {}))
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        verified = verify.verify_signatures(registry, ref, policy, options=verify_options)
    _header(str(ref), bool(wanted))
    if output == "text":
        for signature in verified.signatures:
            click.echo(signature.payload.decode("utf-8", errors="replace"))
    else:
        click.echo(verified.cosign_output().decode("utf-8"))


@click.command("verify-attestation", cls=_GoFlags)
@_TYPE
@_verify_args
@click.argument("image", metavar="IMAGE")
def verify_attestation(
    predicate_type: str,
    image: str,
    registry_options: RegistryOptions,
    keys: Keys,
    verify_options: VerifyOptions,
) -> None:
    """Verify an image's attestations of --type; print each envelope as stored."""
    from konflux_supply import oci, verify

    policy = verify.AllOf(keys, verify.PredicateType(predicate_type))
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        verified = verify.verify_attestations(registry, ref, policy, options=verify_options)
    _header(image, False)
    for attestation in verified.attestations:
        click.echo(attestation.envelope.decode("utf-8", errors="replace"))


@click.command("triangulate")
@click.option(
    "--type",
    "kind",
    type=click.Choice(["signature", "attestation", "sbom", "digest"]),
    default="signature",
    show_default=True,
)
@registry_options
@click.argument("image", metavar="IMAGE")
def triangulate(kind: str, image: str, registry_options: RegistryOptions) -> None:
    """Print where cosign stores an image's signatures/attestations/SBOM."""
    from konflux_supply import oci

    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        pinned = ref if ref.digest else oci.resolve(registry, ref)[0]
    if kind == "digest":
        click.echo(f"{pinned.name}@{pinned.digest}")
        return
    click.echo(str(oci.triangulate(pinned, oci.Kind.parse(kind), repository=repository_override())))


@click.command("copy")
@click.option(
    "--only",
    default="sig,att,sbom",
    show_default=True,
    metavar="KINDS",
    help="Attachments to copy: a comma list of sig, att, sbom (empty: none).",
)
@click.option("--sig-only", is_flag=True, help="Same as --only=sig.")
@click.option("--no-referrers", is_flag=True, help="Do not copy OCI 1.1 referrers.")
@writer_options
@registry_options
@click.argument("source", metavar="SOURCE")
@click.argument("destination", metavar="DESTINATION")
def copy(
    only: str,
    sig_only: bool,
    no_referrers: bool,
    source: str,
    destination: str,
    registry_options: RegistryOptions,
    append_policy: AppendPolicy,
) -> None:
    """Copy an image with its signatures, attestations and SBOM (registry or oci:DIR)."""
    from konflux_supply import oci

    names = ["sig"] if sig_only else [n.strip() for n in only.split(",") if n.strip()]
    kinds = [oci.Kind.parse(name) for name in names]
    with oci.RegistryPool(registry_options) as pool:
        src, src_ref = pool.open(source)
        dst, dst_ref = pool.open(oci.parse_reference(destination, default_tag=None))
        outcome = oci.copy_image(
            src,
            src_ref,
            dst,
            dst_ref,
            policy=append_policy,
            kinds=kinds,
            referrers=not no_referrers,
        )
    click.echo(
        f"Copied {outcome.source} to {outcome.destination}: {len(outcome.manifests)} manifests, "
        f"{len(outcome.blobs)} blobs, {len(outcome.attachments)} attachments, "
        f"{len(outcome.referrers)} referrers",
        err=True,
    )
    click.echo(str(outcome.destination))


#: Adds the image commands to the CLI group.
register = registrar(
    sign,
    attest,
    attach,
    verify_cmd,
    verify_attestation,
    triangulate,
    copy,
)
