"""``ec.sigstore.verify_image`` and ``ec.sigstore.verify_attestation``.

As in Conforma these never answer *undefined*: the result is ``{"success": bool, "errors":
[str], "signatures": [...]}`` (or ``"attestations": [{"statement", "signatures"}]``), with
``success`` false and the reason in ``errors`` when verification fails for any reason. A
signature is ``{"keyid", "signature", "certificate", "chain", "metadata"}``.

``opts`` is Conforma's object (usually ``data.config.default_sigstore_opts``):
``public_key`` (inline PEM, or a key reference the caller resolved into
``BuiltinContext.public_keys``), ``ignore_rekor``, and the keyless fields
``certificate_identity[_regexp]``, ``certificate_oidc_issuer[_regexp]``, ``rekor_url``,
``rekor_public_key``. Key-based verification runs on :mod:`konflux_supply.verify`; keyless
image verification is not supported yet and fails with a message saying so.

Where the answer is "the registry could not say", the failure is also recorded on the
context (``unavailable``), so that it cannot pass for a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from konflux_supply.errors import (
    BackendUnavailable,
    InputError,
    RegistryError,
    VerificationError,
)
from konflux_supply.models.oci import is_digest
from konflux_supply.policy import _ec_adapter as adapter
from konflux_supply.policy._ec_context import BuiltinContext

__all__ = ["verify_attestation", "verify_image"]

_KEYLESS_FIELDS = (
    "certificate_identity",
    "certificate_identity_regexp",
    "certificate_oidc_issuer",
    "certificate_oidc_issuer_regexp",
)


class _Refused(Exception):
    """The call cannot be attempted: the message goes to ``errors``."""


def _string(opts: dict[str, Any], key: str) -> str:
    value = opts.get(key)
    return value if isinstance(value, str) else ""


def _key(ctx: BuiltinContext, opts: dict[str, Any]) -> bytes:
    public_key = _string(opts, "public_key")
    if public_key:
        if adapter.is_pem(public_key):
            return public_key.encode("utf-8")
        resolved = ctx.public_keys.get(public_key)
        if resolved is None:
            raise _Refused(
                "opts parameter: public_key is neither inline PEM nor a key reference the "
                "caller resolved (BuiltinContext.public_keys)"
            )
        return resolved
    if any(_string(opts, field) for field in _KEYLESS_FIELDS):
        raise _Refused(
            "opts parameter: keyless verification (certificate identity and OIDC issuer) of "
            "image signatures is not supported by konflux-supply yet; use public_key"
        )
    raise _Refused("opts parameter: neither public_key nor a keyless identity was given")


def _run(
    ctx: BuiltinContext,
    name: str,
    ref: Any,
    opts: Any,
    what: str,
    check: Callable[[adapter.Reference, bytes, adapter.Trust], list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """(entries, errors) of one verification; registry failures recorded on ``ctx``."""
    label = ref if isinstance(ref, str) else repr(ref)[:200]
    try:
        if not isinstance(ref, str):
            raise _Refused("ref parameter: not a string")
        if not isinstance(opts, dict):
            raise _Refused("opts parameter: not an object")
        try:
            parsed = adapter.parse_reference(ref)
        except InputError as error:
            raise _Refused(f"new digest: {error.summary()}") from None
        if not (parsed.digest and is_digest(parsed.digest)):
            raise _Refused(f"new digest: {ref} is not a digest reference")
        key = _key(ctx, opts)
        trust = adapter.Trust(
            trusted_root=ctx.trusted_root,
            ignore_tlog=opts.get("ignore_rekor") is True,
            referrers=ctx.referrers,
        )
        return check(parsed, key, trust), []
    except _Refused as refused:
        return [], [str(refused)]
    except (VerificationError, InputError) as error:
        return [], [f"{what}: {error.summary()}"]
    except RegistryError as error:
        ctx.record_registry(name, label, error)
        return [], [f"{what}: {error.summary()}"]
    except BackendUnavailable as error:
        ctx.record(name, label, error.summary(), "unavailable")
        return [], [f"{what}: {error.summary()}"]


def verify_image(ctx: BuiltinContext, ref: Any, opts: Any) -> dict[str, Any]:
    """``ec.sigstore.verify_image(ref, opts)``: ``{success, errors, signatures}``."""
    name = "ec.sigstore.verify_image"

    def compute() -> dict[str, Any]:
        def check(
            parsed: adapter.Reference, key: bytes, trust: adapter.Trust
        ) -> list[dict[str, Any]]:
            return adapter.verified_signatures(ctx.pool(), parsed, key, trust)

        found, errors = _run(ctx, name, ref, opts, "verify image signature", check)
        return {"success": not errors, "errors": errors, "signatures": found}

    return ctx.memo(name, (ref, opts), compute)


def verify_attestation(ctx: BuiltinContext, ref: Any, opts: Any) -> dict[str, Any]:
    """``ec.sigstore.verify_attestation(ref, opts)``: ``{success, errors, attestations}``."""
    name = "ec.sigstore.verify_attestation"

    def compute() -> dict[str, Any]:
        def check(
            parsed: adapter.Reference, key: bytes, trust: adapter.Trust
        ) -> list[dict[str, Any]]:
            return adapter.verified_attestations(ctx.pool(), parsed, key, trust)

        found, errors = _run(ctx, name, ref, opts, "verify image attestation signature", check)
        return {"success": not errors, "errors": errors, "attestations": found}

    return ctx.memo(name, (ref, opts), compute)
