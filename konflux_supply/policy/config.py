"""The EnterpriseContractPolicy (ECP): which policy and data to evaluate, and how to select rules.

Read from a file, inline JSON/YAML, a full custom resource (``apiVersion/kind/metadata/spec``)
or a bare spec, and checked field by field against the CRD
(``appstudio.redhat.com/v1alpha1``, ``policy_spec.json``): unknown fields are refused where the
schema forbids them (everywhere but ``ruleData``), the CEL rule "at most one of
``imageUrl``/``imageDigest``/``imageRef``/``componentNames``" holds for every volatile
criterion, digests match ``^sha256:[a-fA-F0-9]{64}$``, and a keyless ``identity`` names an
issuer and a subject. Every error is an :class:`~konflux_supply.errors.InputError` naming the
file (``source``) and the field path, e.g.
``spec.sources[0].volatileConfig.exclude[2].imageDigest``.

Two checks are stricter than the CRD, because a policy that checks nothing must not pass:
``sources`` is required (at least one) and so is each source's ``policy`` (at least one URL).

The spec is also kept as the plain dict it was given (:meth:`EnterpriseContractPolicy.to_dict`),
which is what the report echoes as ``policy`` once the source URLs are pinned
(:meth:`EnterpriseContractPolicy.with_pinned_sources`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.document import (
    expect_mapping,
    expect_str,
    expect_str_list,
    parse_document,
)

__all__ = [
    "MAX_POLICY_BYTES",
    "Configuration",
    "EnterpriseContractPolicy",
    "Identity",
    "Source",
    "SourceConfig",
    "VolatileConfig",
    "VolatileCriterion",
    "load_policy",
]

#: Policies are a few KB; anything bigger than this is the wrong file.
MAX_POLICY_BYTES = 16 * 1024 * 1024

API_GROUP = "appstudio.redhat.com"
KIND = "EnterpriseContractPolicy"
_DIGEST = re.compile(r"sha256:[a-fA-F0-9]{64}")
_CR_KEYS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
_SPEC_KEYS = frozenset(
    {"name", "description", "sources", "configuration", "rekorUrl", "publicKey", "identity"}
)
_SOURCE_KEYS = frozenset({"name", "policy", "data", "ruleData", "config", "volatileConfig"})
_LIST_KEYS = frozenset({"include", "exclude"})
_CONFIGURATION_KEYS = frozenset({"include", "exclude", "collections"})
_IDENTITY_KEYS = frozenset({"subject", "subjectRegExp", "issuer", "issuerRegExp"})
_CRITERION_KEYS = frozenset(
    {
        "value",
        "effectiveOn",
        "effectiveUntil",
        "imageRef",
        "imageDigest",
        "imageUrl",
        "componentNames",
        "reference",
    }
)
_SCOPE_KEYS = ("imageUrl", "imageDigest", "imageRef", "componentNames")


@dataclass(frozen=True)
class SourceConfig:
    """A source's ``config``: rule selection that always applies."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class VolatileCriterion:
    """One ``volatileConfig`` entry: a selection limited in time and, optionally, in scope.

    ``effective_on``/``effective_until`` are kept as written (RFC 3339 or ``YYYY-MM-DD``);
    an unparseable date makes the criterion skipped with a warning when it is applied, as
    Conforma does, not a load error. At most one of ``image_url``, ``image_digest``,
    ``image_ref`` (deprecated) and ``component_names`` is set.
    """

    value: str
    effective_on: str | None = None
    effective_until: str | None = None
    image_ref: str | None = None
    image_digest: str | None = None
    image_url: str | None = None
    component_names: tuple[str, ...] | None = None
    reference: str | None = None


@dataclass(frozen=True)
class VolatileConfig:
    """A source's ``volatileConfig``."""

    include: tuple[VolatileCriterion, ...] = ()
    exclude: tuple[VolatileCriterion, ...] = ()


@dataclass(frozen=True)
class Source:
    """One source group: policy and data evaluated together with their own rule selection."""

    policy: tuple[str, ...]
    name: str = ""
    data: tuple[str, ...] = ()
    rule_data: Mapping[str, Any] | None = field(default=None, hash=False)
    config: SourceConfig | None = None
    volatile_config: VolatileConfig | None = None


@dataclass(frozen=True)
class Configuration:
    """The deprecated spec-wide ``configuration`` (used only by sources without any selection)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Identity:
    """The keyless signer identity (a Fulcio certificate's subject and OIDC issuer)."""

    subject: str = ""
    subject_regexp: str = ""
    issuer: str = ""
    issuer_regexp: str = ""


@dataclass(frozen=True)
class EnterpriseContractPolicy:
    """The spec of an EnterpriseContractPolicy, typed, plus the dict it was read from.

    Build it with :meth:`from_dict`, :meth:`from_text`, :meth:`from_file` or
    :func:`load_policy`; the constructor does not validate.
    """

    sources: tuple[Source, ...]
    name: str = ""
    description: str = ""
    configuration: Configuration | None = None
    rekor_url: str = ""
    public_key: str = ""
    identity: Identity | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)

    @property
    def keyless(self) -> bool:
        """Whether signatures are checked against a certificate identity (no ``publicKey``)."""
        return not self.public_key

    def to_dict(self) -> dict[str, Any]:
        """The spec as given (a deep copy), e.g. for the report's ``policy``."""
        return copy.deepcopy(dict(self.raw))

    def with_pinned_sources(self, mapping: Mapping[str, str]) -> EnterpriseContractPolicy:
        """A copy whose ``policy``/``data`` URLs are replaced by ``mapping[url]`` where present.

        Used once the sources are fetched, so the report shows what was actually evaluated
        (``git::…?ref=<commit>``, ``oci::…@sha256:…``).
        """
        raw = self.to_dict()
        for source in raw.get("sources", []):
            for key in ("policy", "data"):
                if key in source:
                    source[key] = [mapping.get(url, url) for url in source[key]]
        sources = tuple(
            Source(
                policy=tuple(mapping.get(url, url) for url in source.policy),
                name=source.name,
                data=tuple(mapping.get(url, url) for url in source.data),
                rule_data=source.rule_data,
                config=source.config,
                volatile_config=source.volatile_config,
            )
            for source in self.sources
        )
        return EnterpriseContractPolicy(
            sources=sources,
            name=self.name,
            description=self.description,
            configuration=self.configuration,
            rekor_url=self.rekor_url,
            public_key=self.public_key,
            identity=self.identity,
            raw=raw,
        )

    def with_overrides(
        self,
        *,
        public_key: str | None = None,
        rekor_url: str | None = None,
        identity: Identity | None = None,
    ) -> EnterpriseContractPolicy:
        """The policy with the command line's ``--public-key``/``--rekor-url`` written in, as
        Conforma does (so the report's ``policy`` shows them).

        A non-empty CLI ``identity`` without ``public_key`` clears the policy's ``publicKey``:
        the keyless identity given on the command line takes precedence. The CLI identity
        itself is not written into the spec (pass it to :meth:`keyless_identity`).
        """
        raw = self.to_dict()
        key, url = self.public_key, self.rekor_url
        if rekor_url:
            url = raw["rekorUrl"] = rekor_url
        if public_key:
            key = raw["publicKey"] = public_key
        elif identity is not None and identity != Identity() and key:
            key = ""
            raw.pop("publicKey", None)
        return EnterpriseContractPolicy(
            sources=self.sources,
            name=self.name,
            description=self.description,
            configuration=self.configuration,
            rekor_url=url,
            public_key=key,
            identity=self.identity,
            raw=raw,
        )

    def keyless_identity(self, override: Identity | None = None) -> Identity | None:
        """The certificate identity to verify against, or ``None`` with a ``publicKey``.

        Keyless (no ``publicKey``): ``override`` (the CLI's) if given, else the spec's
        ``identity``; it must name an issuer (or issuer regexp) and a subject (or subject
        regexp), else :class:`InputError`.
        """
        if self.public_key:
            return None
        chosen = override if override is not None and override != Identity() else self.identity
        chosen = chosen or Identity()
        problems = []
        if not chosen.issuer and not chosen.issuer_regexp:
            problems.append("certificate OIDC issuer must be provided for keyless workflow")
        if not chosen.subject and not chosen.subject_regexp:
            problems.append("certificate identity must be provided for keyless workflow")
        if problems:
            raise InputError(
                "; ".join(problems),
                field="spec.identity",
                hint="give a public key, or --certificate-identity[-regexp] and "
                "--certificate-oidc-issuer[-regexp]",
            )
        return chosen

    @classmethod
    def from_dict(cls, document: Any, *, source: str | None = None) -> EnterpriseContractPolicy:
        """Validate a parsed document: a full ``EnterpriseContractPolicy`` or a bare spec.

        ``source`` (a file name) is put in every error.
        """
        top = expect_mapping(document, "", source=source)
        if any(key in top for key in ("apiVersion", "kind", "spec")):
            spec = _unwrap_resource(top, source)
        else:
            spec = top
        return _read_spec(spec, source)

    @classmethod
    def from_text(
        cls, text: str | bytes, *, source: str = "inline policy"
    ) -> EnterpriseContractPolicy:
        """Parse JSON or YAML text (one document) and validate it."""
        document = parse_document(text, source=source, unique_keys=True)
        return cls.from_dict(document, source=source)

    @classmethod
    def from_file(
        cls, path: str | Path, *, max_bytes: int = MAX_POLICY_BYTES
    ) -> EnterpriseContractPolicy:
        """Read a ``.json``/``.yaml`` file (at most ``max_bytes``) and validate it."""
        name = str(path)
        try:
            with Path(path).open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as error:
            raise InputError(f"cannot read the policy: {error.strerror}", source=name) from None
        if len(data) > max_bytes:
            raise InputError(f"the policy is larger than {max_bytes} bytes", source=name)
        return cls.from_text(data, source=name)


def load_policy(value: str) -> EnterpriseContractPolicy:
    """The ``--policy`` argument: a file path, or the policy itself as inline JSON/YAML.

    Kubernetes references (``namespace/name``) and git URLs are not read here.
    """
    if not value.strip():
        raise InputError("the policy is empty", source="--policy")
    path = Path(value)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        is_file = False
    if is_file:
        return EnterpriseContractPolicy.from_file(path)
    if ":" in value or value.lstrip().startswith("{"):
        return EnterpriseContractPolicy.from_text(value)
    raise InputError(
        f"no such file, and not inline JSON or YAML: {value!r}",
        source="--policy",
        hint="give a .yaml/.json file or the policy itself (Kubernetes references are not read)",
    )


def _unwrap_resource(top: Mapping[str, Any], source: str | None) -> Mapping[str, Any]:
    expect_mapping(top, "", source=source, allowed=_CR_KEYS)
    kind = top.get("kind")
    if kind is not None and kind != KIND:
        raise InputError(f"expected kind {KIND}, found {kind!r}", field="kind", source=source)
    api_version = top.get("apiVersion")
    if api_version is not None:
        group = expect_str(api_version, "apiVersion", source=source).partition("/")[0]
        if group != API_GROUP:
            raise InputError(
                f"expected apiVersion {API_GROUP}/…, found {api_version!r}",
                field="apiVersion",
                source=source,
            )
    if "metadata" in top:
        expect_mapping(top["metadata"], "metadata", source=source)
    if "spec" not in top:
        raise InputError("an EnterpriseContractPolicy needs a spec", field="spec", source=source)
    return expect_mapping(top["spec"], "spec", source=source)


def _read_spec(spec: Mapping[str, Any], source: str | None) -> EnterpriseContractPolicy:
    path = "spec"
    expect_mapping(spec, path, source=source, allowed=_SPEC_KEYS)
    if "sources" not in spec:
        raise InputError(
            "a policy needs at least one source (a policy without sources checks nothing)",
            field=f"{path}.sources",
            source=source,
        )
    raw_sources = spec["sources"]
    if not isinstance(raw_sources, list) or not raw_sources:
        what = "an empty array" if raw_sources == [] else f"not an array: {raw_sources!r:.40}"
        raise InputError(
            f"expected at least one source, found {what}", field=f"{path}.sources", source=source
        )
    sources = tuple(
        _read_source(item, f"{path}.sources[{index}]", source)
        for index, item in enumerate(raw_sources)
    )
    configuration = None
    if "configuration" in spec:
        where = f"{path}.configuration"
        block = expect_mapping(
            spec["configuration"], where, source=source, allowed=_CONFIGURATION_KEYS
        )
        configuration = Configuration(
            include=_strings(block, "include", where, source),
            exclude=_strings(block, "exclude", where, source),
            collections=_strings(block, "collections", where, source),
        )
    identity = None
    if "identity" in spec:
        identity = _read_identity(spec["identity"], f"{path}.identity", source)
    return EnterpriseContractPolicy(
        sources=sources,
        name=_string(spec, "name", path, source),
        description=_string(spec, "description", path, source),
        configuration=configuration,
        rekor_url=_string(spec, "rekorUrl", path, source),
        public_key=_string(spec, "publicKey", path, source),
        identity=identity,
        raw=copy.deepcopy(dict(spec)),
    )


def _read_source(value: Any, path: str, source: str | None) -> Source:
    block = expect_mapping(value, path, source=source, allowed=_SOURCE_KEYS)
    if "policy" not in block:
        raise InputError(
            "a source needs at least one policy URL", field=f"{path}.policy", source=source
        )
    policy = _strings(block, "policy", path, source, non_empty_items=True)
    if not policy:
        raise InputError(
            "expected at least one policy URL, found an empty array",
            field=f"{path}.policy",
            source=source,
        )
    rule_data = None
    if "ruleData" in block:
        rule_data = expect_mapping(block["ruleData"], f"{path}.ruleData", source=source)
    config = None
    if "config" in block:
        where = f"{path}.config"
        lists = expect_mapping(block["config"], where, source=source, allowed=_LIST_KEYS)
        config = SourceConfig(
            include=_strings(lists, "include", where, source),
            exclude=_strings(lists, "exclude", where, source),
        )
    volatile = None
    if "volatileConfig" in block:
        where = f"{path}.volatileConfig"
        lists = expect_mapping(block["volatileConfig"], where, source=source, allowed=_LIST_KEYS)
        volatile = VolatileConfig(
            include=_criteria(lists, "include", where, source),
            exclude=_criteria(lists, "exclude", where, source),
        )
    return Source(
        policy=policy,
        name=_string(block, "name", path, source),
        data=_strings(block, "data", path, source, non_empty_items=True),
        rule_data=copy.deepcopy(dict(rule_data)) if rule_data is not None else None,
        config=config,
        volatile_config=volatile,
    )


def _criteria(
    block: Mapping[str, Any], key: str, path: str, source: str | None
) -> tuple[VolatileCriterion, ...]:
    if key not in block:
        return ()
    where = f"{path}.{key}"
    items = block[key]
    if not isinstance(items, list):
        raise InputError("expected an array of criteria", field=where, source=source)
    return tuple(_criterion(item, f"{where}[{index}]", source) for index, item in enumerate(items))


def _criterion(value: Any, path: str, source: str | None) -> VolatileCriterion:
    item = expect_mapping(value, path, source=source, allowed=_CRITERION_KEYS)
    if "value" not in item:
        raise InputError("a volatile criterion needs a value", field=f"{path}.value", source=source)
    scopes = [key for key in _SCOPE_KEYS if key in item]
    if len(scopes) > 1:
        raise InputError(
            "only one of imageUrl, imageDigest, imageRef, or componentNames may be set "
            f"(found {', '.join(scopes)})",
            field=path,
            source=source,
        )
    digests = {}
    for key in ("imageDigest", "imageRef"):
        if key in item:
            digest = expect_str(item[key], f"{path}.{key}", source=source)
            if not _DIGEST.fullmatch(digest):
                raise InputError(
                    f"expected sha256:<64 hex digits>, found {digest!r:.80}",
                    field=f"{path}.{key}",
                    source=source,
                )
            digests[key] = digest
    names = None
    if "componentNames" in item:
        names = expect_str_list(
            item["componentNames"], f"{path}.componentNames", source=source, non_empty_items=True
        )
    return VolatileCriterion(
        value=expect_str(item["value"], f"{path}.value", source=source),
        effective_on=_optional(item, "effectiveOn", path, source),
        effective_until=_optional(item, "effectiveUntil", path, source),
        image_ref=digests.get("imageRef"),
        image_digest=digests.get("imageDigest"),
        image_url=_optional(item, "imageUrl", path, source),
        component_names=names,
        reference=_optional(item, "reference", path, source),
    )


def _read_identity(value: Any, path: str, source: str | None) -> Identity:
    block = expect_mapping(value, path, source=source, allowed=_IDENTITY_KEYS)
    identity = Identity(
        subject=_string(block, "subject", path, source),
        subject_regexp=_string(block, "subjectRegExp", path, source),
        issuer=_string(block, "issuer", path, source),
        issuer_regexp=_string(block, "issuerRegExp", path, source),
    )
    if identity == Identity():
        return identity  # an empty identity: the keyless check happens where it is used
    if not identity.issuer and not identity.issuer_regexp:
        raise InputError(
            "a keyless identity needs issuer or issuerRegExp", field=path, source=source
        )
    if not identity.subject and not identity.subject_regexp:
        raise InputError(
            "a keyless identity needs subject or subjectRegExp", field=path, source=source
        )
    return identity


def _string(block: Mapping[str, Any], key: str, path: str, source: str | None) -> str:
    if key not in block:
        return ""
    return expect_str(block[key], f"{path}.{key}", source=source)


def _optional(block: Mapping[str, Any], key: str, path: str, source: str | None) -> str | None:
    if key not in block:
        return None
    return expect_str(block[key], f"{path}.{key}", source=source)


def _strings(
    block: Mapping[str, Any],
    key: str,
    path: str,
    source: str | None,
    *,
    non_empty_items: bool = False,
) -> tuple[str, ...]:
    if key not in block:
        return ()
    return expect_str_list(
        block[key], f"{path}.{key}", source=source, non_empty_items=non_empty_items
    )
