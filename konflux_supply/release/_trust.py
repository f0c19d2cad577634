"""One verification policy per ECP, built once before any component (Conforma's ``checkOpts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from konflux_supply import signing, verify
from konflux_supply.errors import InputError
from konflux_supply.policy.config import EnterpriseContractPolicy
from konflux_supply.release._options import ValidateOptions

__all__ = ["Trust", "build_trust"]


@dataclass(frozen=True)
class Trust:
    """What images are verified against, and what policies see of it."""

    policy: verify.Policy
    verify_options: verify.VerifyOptions
    keyless: bool
    #: The public key as PEM ("" when keyless): the report's ``key``.
    key_pem: str = ""
    #: KEYREF → PEM for ``ec.sigstore.*`` calls that name the ECP's key by reference.
    public_keys: dict[str, bytes] = field(default_factory=dict)
    trusted_root: bytes | None = None
    #: ``data.config.default_sigstore_opts``.
    sigstore_opts: dict[str, Any] = field(default_factory=dict)


def _trusted_root(value: str | bytes | None) -> tuple[verify.TrustedRoot | None, bytes | None]:
    if value is None:
        return None, None
    if isinstance(value, bytes):
        return verify.TrustedRoot.from_json(value, source="trusted root"), value
    try:
        data = Path(value).read_bytes()
    except OSError as error:
        raise InputError(
            f"cannot read the trusted root: {error.strerror}", field="--trusted-root"
        ) from None
    return verify.TrustedRoot.from_json(data, source=value), data


def build_trust(ecp: EnterpriseContractPolicy, options: ValidateOptions) -> Trust:
    """The verification policy of ``ecp`` (its overrides already applied).

    A ``publicKey`` is loaded once (file, inline PEM, ``k8s://``, KMS URI). Keyless needs
    the identity and a Sigstore trusted root (``options.trusted_root``); without one it is an
    :class:`InputError` saying so.
    """
    root, root_bytes = _trusted_root(options.trusted_root)
    opts: dict[str, Any] = {
        "certificate_identity": "",
        "certificate_identity_regexp": "",
        "certificate_oidc_issuer": "",
        "certificate_oidc_issuer_regexp": "",
        "ignore_rekor": options.ignore_rekor,
        "public_key": "",
        "rekor_url": ecp.rekor_url,
    }
    if ecp.public_key:
        verifier = signing.load_verifier(ecp.public_key)
        pem = verifier.public_key_pem()
        opts["public_key"] = pem.decode()
        log: verify.TrustedRoot | verify.UnsafeIgnoreTlog | None = root
        if log is None and options.ignore_rekor:
            log = verify.UNSAFE_IGNORE_TLOG
        keys = {} if "-----BEGIN" in ecp.public_key else {ecp.public_key: pem}
        return Trust(
            policy=verify.Keys([verifier], transparency_log=log),
            verify_options=verify.VerifyOptions(referrers=log is not None, bundles=log is not None),
            keyless=False,
            key_pem=pem.decode(),
            public_keys=keys,
            trusted_root=root_bytes,
            sigstore_opts=opts,
        )
    identity = ecp.keyless_identity(options.identity)
    assert identity is not None
    if root is None:
        raise InputError(
            "keyless verification (no public key in the policy) needs a Sigstore trusted root",
            field="--trusted-root",
            hint="pass --trusted-root trusted_root.json (from `cosign trusted-root create` or "
            "the TUF repository), or a --public-key",
        )
    opts.update(
        certificate_identity=identity.subject,
        certificate_identity_regexp=identity.subject_regexp,
        certificate_oidc_issuer=identity.issuer,
        certificate_oidc_issuer_regexp=identity.issuer_regexp,
    )
    return Trust(
        policy=verify.Identity(
            root,
            subject=identity.subject or None,
            subject_regexp=identity.subject_regexp or None,
            issuer=identity.issuer or None,
            issuer_regexp=identity.issuer_regexp or None,
        ),
        verify_options=verify.VerifyOptions(referrers=True, bundles=True),
        keyless=True,
        trusted_root=root_bytes,
        sigstore_opts=opts,
    )
