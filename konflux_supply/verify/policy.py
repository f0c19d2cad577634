"""Trust as policy objects, not a bag of flags (as sigstore-python's ``verify/policy.py``).

A policy says *what to trust*; :class:`~konflux_supply.verify.VerifyOptions` says only
*where to look*. One policy is built once (a release gate builds one per
EnterpriseContractPolicy) and reused for every image::

    from konflux_supply import signing, verify
    from konflux_supply.signing.bundle import TrustedRoot

    policy = verify.AllOf(
        verify.Keys([signing.load_verifier("cosign.pub")]),      # or verify.Identity(...)
        verify.Annotations({"env": "prod"}),                     # signed -a claims
        verify.PredicateType("slsaprovenance"),                  # which attestations count
    )
    verify.verify_image(registry, ref, policy)

* :class:`Keys` — a signature must verify under one of these public keys. Its
  ``transparency_log`` is the choice for Sigstore bundles: a :class:`TrustedRoot` to check
  their log entries against, or :data:`UNSAFE_IGNORE_TLOG` not to.
* :class:`Identity` — keyless: a Fulcio certificate whose subject (SAN) and OIDC issuer
  match, exactly or by regular expression (searched, as cosign's ``-regexp`` flags: anchor
  with ``^…$``), chained to the ``trusted_root``'s CAs and logged in its transparency logs.
* :class:`Annotations` — claims every accepted image signature must carry (``-a k=v``).
* :class:`PredicateType` — the attestations that count (a cosign ``--type`` name or URI).
* :class:`AllOf` — all of the above together; it holds exactly one of :class:`Keys` or
  :class:`Identity`. An empty ``AllOf`` is an error, never "trust anything".

A list of verifiers is accepted wherever a policy is, as ``Keys(verifiers)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from konflux_supply.errors import InputError
from konflux_supply.signing import Verifier
from konflux_supply.signing.blob import predicate_type_uri
from konflux_supply.signing.bundle import UNSAFE_IGNORE_TLOG, TrustedRoot, UnsafeIgnoreTlog

__all__ = [
    "UNSAFE_IGNORE_TLOG",
    "AllOf",
    "Annotations",
    "Identity",
    "Keys",
    "Policy",
    "PredicateType",
    "Trust",
    "TrustedRoot",
    "UnsafeIgnoreTlog",
    "trust_of",
]

TransparencyLog = TrustedRoot | UnsafeIgnoreTlog


@dataclass(frozen=True, init=False)
class Keys:
    """Signatures must verify under one of ``verifiers`` (at least one).

    ``transparency_log``: how Sigstore bundles' log entries are judged — against a
    :class:`TrustedRoot`, or not at all with :data:`UNSAFE_IGNORE_TLOG`. ``None`` (the
    default) reads no bundle: asking for bundles (``VerifyOptions(bundles=True)``) without a
    choice is an :class:`InputError`. cosign ``.sig``/``.att`` layers signed with a key carry
    no log evidence that is checked here.
    """

    verifiers: tuple[Verifier, ...]
    transparency_log: TransparencyLog | None

    def __init__(
        self, verifiers: Iterable[Verifier], *, transparency_log: TransparencyLog | None = None
    ) -> None:
        found = tuple(verifiers)
        if not found:
            raise InputError("no verification keys were given", field="key")
        if transparency_log is not None and not isinstance(
            transparency_log, TrustedRoot | UnsafeIgnoreTlog
        ):
            raise InputError(
                "pass a TrustedRoot, or UNSAFE_IGNORE_TLOG to skip the log checks",
                field="transparency_log",
            )
        object.__setattr__(self, "verifiers", found)
        object.__setattr__(self, "transparency_log", transparency_log)


@dataclass(frozen=True)
class Identity:
    """Keyless trust: the Fulcio certificate's subject and OIDC issuer.

    Exactly one of ``subject`` / ``subject_regexp`` and one of ``issuer`` /
    ``issuer_regexp`` (cosign's ``--certificate-identity[-regexp]`` and
    ``--certificate-oidc-issuer[-regexp]``). ``trusted_root`` (required) holds the CAs and
    transparency logs the certificate and its log entry are checked against: keyless
    trust never skips the log. Only Sigstore bundles can be verified this way here; a cosign
    ``.sig`` layer with a certificate annotation is refused (fail closed).
    """

    trusted_root: TrustedRoot
    subject: str | None = None
    subject_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.trusted_root, TrustedRoot):
            raise InputError("keyless verification needs a TrustedRoot", field="trusted_root")
        for name, exact, pattern in (
            ("subject", self.subject, self.subject_regexp),
            ("issuer", self.issuer, self.issuer_regexp),
        ):
            if (exact is None) == (pattern is None):
                raise InputError(f"give exactly one of {name} and {name}_regexp", field=name)
            if exact is not None and not exact:
                raise InputError("must not be empty", field=name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise InputError(
                        f"not a regular expression: {error}", field=f"{name}_regexp"
                    ) from None

    def subject_matcher(self) -> str | re.Pattern[str]:
        """The exact subject, or the compiled ``subject_regexp``."""
        return self.subject if self.subject is not None else re.compile(self.subject_regexp or "")

    def issuer_matcher(self) -> str | re.Pattern[str]:
        """The exact issuer, or the compiled ``issuer_regexp``."""
        return self.issuer if self.issuer is not None else re.compile(self.issuer_regexp or "")


@dataclass(frozen=True, init=False)
class Annotations:
    """Claims every accepted image signature must carry, as strings (cosign ``-a k=v``)."""

    required: Mapping[str, str]

    def __init__(self, required: Mapping[str, str]) -> None:
        if not isinstance(required, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in required.items()
        ):
            raise InputError("annotations must map strings to strings", field="annotations")
        object.__setattr__(self, "required", dict(required))


@dataclass(frozen=True)
class PredicateType:
    """The attestations that count: a cosign ``--type`` name (``slsaprovenance``,
    ``cyclonedx``, ``custom``, …) or a predicate-type URI."""

    name: str
    uri: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError("must be a type name or URI", field="type")
        object.__setattr__(self, "uri", predicate_type_uri(self.name))


@dataclass(frozen=True, init=False)
class AllOf:
    """Every part holds. Exactly one part says whose signatures count (:class:`Keys` or
    :class:`Identity`); an empty ``AllOf`` is an :class:`InputError`."""

    policies: tuple[Policy, ...]

    def __init__(self, *policies: Policy) -> None:
        if not policies:
            raise InputError("an empty AllOf would trust anything", field="policy")
        object.__setattr__(self, "policies", tuple(policies))


Policy = Keys | Identity | Annotations | PredicateType | AllOf
"""Any one policy object."""


@dataclass(frozen=True)
class Trust:
    """A policy, flattened: whose signatures count, and what else must hold."""

    signer: Keys | Identity
    annotations: Mapping[str, str]
    predicate_type: PredicateType | None


def _parts(policy: object) -> Iterable[object]:
    if isinstance(policy, AllOf):
        for part in policy.policies:
            yield from _parts(part)
    else:
        yield policy


def trust_of(policy: Policy | Sequence[Verifier]) -> Trust:
    """Flatten ``policy`` (a list of verifiers means ``Keys(verifiers)``), or raise
    :class:`InputError` when it does not say exactly whose signatures count."""
    if isinstance(policy, list | tuple):
        policy = Keys(policy)
    signers: list[Keys | Identity] = []
    annotations: dict[str, str] = {}
    predicate: PredicateType | None = None
    for part in _parts(policy):
        if isinstance(part, Keys | Identity):
            signers.append(part)
        elif isinstance(part, Annotations):
            for key, value in part.required.items():
                if annotations.setdefault(key, value) != value:
                    raise InputError(f"annotation {key} is required twice, differently")
        elif isinstance(part, PredicateType):
            if predicate is not None and predicate.uri != part.uri:
                raise InputError("two different predicate types are required", field="type")
            predicate = part
        else:
            raise InputError(f"not a verification policy: {type(part).__name__}", field="policy")
    if len(signers) != 1:
        raise InputError(
            "a policy needs exactly one Keys or Identity"
            + (f" (found {len(signers)})" if signers else ""),
            field="key",
        )
    return Trust(signers[0], annotations, predicate)
