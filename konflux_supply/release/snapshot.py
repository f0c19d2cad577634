"""The Snapshot to validate: Konflux's ``SnapshotSpec`` (``appstudio.redhat.com/v1alpha1``).

Accepted as a bare ``SnapshotSpec``, a ``Snapshot`` custom resource (its ``spec`` is used), a
file path or inline JSON/YAML (``--images``), or a single image (``--image X``, component
``Unnamed``). Several inputs are merged as Conforma does (``internal/applicationsnapshot/
input.go``): components are deduplicated by ``containerImage``, and a later input only renames
a component that was unnamed (``""`` or ``Unnamed``).

Known fields are type-checked with their path (``spec.components[3].containerImage``); unknown
fields are kept, not refused (Kubernetes and Conforma ignore them, and Konflux adds fields over
time). Image-index expansion names each child component ``<name>-<childDigest>-<arch>``
(:func:`child_component_name`); :func:`original_component_name` strips that suffix again.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.document import expect_mapping, expect_str, parse_document
from konflux_supply.policy.criteria import original_component_name

__all__ = [
    "MAX_SNAPSHOT_BYTES",
    "UNNAMED",
    "Component",
    "GitSource",
    "Snapshot",
    "child_component_name",
    "load_snapshot",
    "original_component_name",
]

#: The component name Conforma gives an image passed alone (``--image``).
UNNAMED = "Unnamed"
#: Snapshots of hundreds of components are a few hundred KB.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024

_SPEC_STRINGS = ("application", "displayName", "displayDescription")
_GIT_FIELDS = (
    ("url", "url"),
    ("revision", "revision"),
    ("context", "context"),
    ("dockerfileUrl", "dockerfile_url"),
    ("devfileUrl", "devfile_url"),
)


@dataclass(frozen=True)
class GitSource:
    """A component's ``source.git``."""

    url: str = ""
    revision: str = ""
    context: str = ""
    dockerfile_url: str = ""
    devfile_url: str = ""


@dataclass(frozen=True)
class Component:
    """One component: a name and a container image, with its source as given.

    ``source`` is the ``source`` object as read (reported back unchanged); ``git`` its typed
    ``git`` part when there is one.
    """

    name: str
    container_image: str
    source: Mapping[str, Any] = field(default_factory=dict, hash=False)
    git: GitSource | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The component in the Snapshot's JSON shape (unknown fields kept)."""
        out: dict[str, Any] = copy.deepcopy(dict(self.extra))
        out.update({"name": self.name, "containerImage": self.container_image})
        # Always present, as in Conforma's input (``"source": {}``), so a policy reading
        # ``input.snapshot.components[_].source`` finds an object.
        out["source"] = copy.deepcopy(dict(self.source))
        return out


def child_component_name(name: str, child_digest: str, arch: str, index: int) -> str:
    """The name image-index expansion gives the ``index``-th manifest of an index.

    ``arch`` is the manifest's platform architecture; without one it is ``noarch-<index>``.
    """
    return f"{name}-{child_digest}-{arch or f'noarch-{index}'}"


@dataclass(frozen=True)
class Snapshot:
    """A ``SnapshotSpec``: the application and the components to validate."""

    components: tuple[Component, ...] = ()
    application: str = ""
    display_name: str = ""
    display_description: str = ""
    artifacts: Mapping[str, Any] = field(default_factory=dict, hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The spec in its JSON shape (as the report's ``snapshot`` and the policy input)."""
        out: dict[str, Any] = copy.deepcopy(dict(self.extra))
        out["application"] = self.application
        if self.display_name:
            out["displayName"] = self.display_name
        if self.display_description:
            out["displayDescription"] = self.display_description
        out["components"] = [component.to_dict() for component in self.components]
        out["artifacts"] = copy.deepcopy(dict(self.artifacts))
        return out

    def merge(self, other: Snapshot) -> Snapshot:
        """``other``'s components added to these, deduplicated by ``containerImage``.

        Empty top-level strings are filled from ``other``; a component already present keeps
        its place and is renamed only if it was unnamed (``""`` or ``Unnamed``).
        """
        components = list(self.components)
        names = {c.container_image: i for i, c in enumerate(components)}
        for component in other.components:
            index = names.get(component.container_image)
            if index is None:
                names[component.container_image] = len(components)
                components.append(component)
            elif components[index].name in ("", UNNAMED):
                old = components[index]
                components[index] = Component(
                    name=component.name,
                    container_image=old.container_image,
                    source=old.source,
                    git=old.git,
                    extra=old.extra,
                )
        return Snapshot(
            components=tuple(components),
            application=self.application or other.application,
            display_name=self.display_name or other.display_name,
            display_description=self.display_description or other.display_description,
            artifacts=self.artifacts or other.artifacts,
            extra=self.extra or other.extra,
        )

    @classmethod
    def of_image(cls, image: str) -> Snapshot:
        """The one-component Snapshot of ``--image``."""
        image = expect_str(image, "image", source="--image", non_empty=True)
        return cls(components=(Component(name=UNNAMED, container_image=image),))

    @classmethod
    def from_dict(cls, document: Any, *, source: str | None = None) -> Snapshot:
        """A parsed ``SnapshotSpec`` or ``Snapshot`` resource (its ``spec``)."""
        top = expect_mapping(document, "", source=source)
        path = ""
        if top.get("spec") is not None:
            top = expect_mapping(top["spec"], "spec", source=source)
            path = "spec"
        return _read_spec(top, path, source)

    @classmethod
    def from_text(cls, text: str | bytes, *, source: str = "inline snapshot") -> Snapshot:
        """Parse JSON or YAML text (one document) and validate it."""
        return cls.from_dict(parse_document(text, source=source, unique_keys=True), source=source)

    @classmethod
    def from_file(cls, path: str | Path, *, max_bytes: int = MAX_SNAPSHOT_BYTES) -> Snapshot:
        """Read a ``.json``/``.yaml`` file (at most ``max_bytes``) and validate it."""
        name = str(path)
        try:
            with Path(path).open("rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError as error:
            raise InputError(f"cannot read the snapshot: {error.strerror}", source=name) from None
        if len(data) > max_bytes:
            raise InputError(f"the snapshot is larger than {max_bytes} bytes", source=name)
        return cls.from_text(data, source=name)


def load_snapshot(*, images: Iterable[str] = (), image: str | None = None) -> Snapshot:
    """The Snapshot from ``--images`` (files or inline JSON/YAML) and ``--image``, merged.

    At least one input is required.
    """
    merged = Snapshot()
    given = False
    for value in images:
        merged = merged.merge(_images_argument(value))
        given = True
    if image is not None:
        merged = merged.merge(Snapshot.of_image(image))
        given = True
    if not given:
        raise InputError(
            "neither a Snapshot nor an image reference was given to validate",
            hint="use --images FILE|JSON or --image REF",
        )
    return merged


def _images_argument(value: str) -> Snapshot:
    if not value.strip():
        raise InputError("the snapshot is empty", source="--images")
    path = Path(value)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        return Snapshot.from_file(path)
    if ":" in value or value.lstrip().startswith("{"):
        return Snapshot.from_text(value)
    raise InputError(f"no such file, and not inline JSON or YAML: {value!r}", source="--images")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _read_spec(spec: Mapping[str, Any], path: str, source: str | None) -> Snapshot:
    strings = {}
    for key in _SPEC_STRINGS:
        if key in spec and spec[key] is not None:
            strings[key] = expect_str(spec[key], _at(path, key), source=source)
    components: list[Component] = []
    raw = spec.get("components")
    if raw is not None:
        if not isinstance(raw, list):
            raise InputError("expected an array", field=_at(path, "components"), source=source)
        for index, item in enumerate(raw):
            components.append(_read_component(item, f"{_at(path, 'components')}[{index}]", source))
    artifacts: Mapping[str, Any] = {}
    if spec.get("artifacts") is not None:
        artifacts = expect_mapping(spec["artifacts"], _at(path, "artifacts"), source=source)
    # A "spec" inside a spec would make the spec read as a resource when written back.
    known = {*_SPEC_STRINGS, "components", "artifacts", "spec"}
    return Snapshot(
        components=tuple(components),
        application=strings.get("application", ""),
        display_name=strings.get("displayName", ""),
        display_description=strings.get("displayDescription", ""),
        artifacts=copy.deepcopy(dict(artifacts)),
        extra={k: copy.deepcopy(v) for k, v in spec.items() if k not in known},
    )


def _read_component(value: Any, path: str, source: str | None) -> Component:
    item = expect_mapping(value, path, source=source)
    if item.get("containerImage") is None:
        raise InputError(
            "a component needs a containerImage", field=f"{path}.containerImage", source=source
        )
    image = expect_str(item["containerImage"], f"{path}.containerImage", source=source)
    if not image.strip():
        raise InputError("must not be empty", field=f"{path}.containerImage", source=source)
    name = ""
    if item.get("name") is not None:
        name = expect_str(item["name"], f"{path}.name", source=source)
    source_block: Mapping[str, Any] = {}
    git = None
    if item.get("source") is not None:
        source_block = expect_mapping(item["source"], f"{path}.source", source=source)
        if source_block.get("git") is not None:
            where = f"{path}.source.git"
            block = expect_mapping(source_block["git"], where, source=source)
            values = {
                attribute: expect_str(block[key], f"{where}.{key}", source=source)
                for key, attribute in _GIT_FIELDS
                if block.get(key) is not None
            }
            git = GitSource(**values)
    return Component(
        name=name,
        container_image=image,
        source=copy.deepcopy(dict(source_block)),
        git=git,
        extra={
            k: copy.deepcopy(v)
            for k, v in item.items()
            if k not in ("name", "containerImage", "source")
        },
    )
