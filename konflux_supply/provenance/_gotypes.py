"""Tekton's Go types, as far as Chains' output depends on how Go (un)marshals them.

Chains decodes a run into ``tekton.dev/v1`` structs and re-encodes parts of it with
``encoding/json``: ``runSpec``, feature flags, ``ref`` and ``results`` in SLSA v0.2, and the
whole child TaskRun as ``content`` in the ``slsa-tekton`` build type. That round trip drops
unknown fields, matches keys case-insensitively, drops ``omitempty`` zero values, emits
non-``omitempty`` zero values (``"serviceAccountName": ""``, ``"computeResources": {}``),
re-formats durations and times, and orders fields as the struct declares them.

This module describes those structs (tektoncd/pipeline v1.15, the version Chains vendors) as data
and applies the round trip to parsed JSON. Kubernetes core types nested inside (pod templates,
volumes, env, probes, ...) are kept as given (``RAW``): Tekton treats them as opaque too.
"""

from __future__ import annotations

from typing import Any

from ._values import (
    MarshalError,
    Path,
    duration,
    format_seconds,
    param_value,
    parse_time,
    wrong_type,
)

__all__ = ["PIPELINE_RUN_SPEC", "TASK_RUN", "TASK_RUN_SPEC", "Struct", "marshal"]

# Scalar kinds.
STR, BOOL, INT, TIME, DUR, PV, RAW = "str", "bool", "int", "time", "dur", "pv", "raw"
# Field modes: OMIT = `json:",omitempty"` on a value, KEEP = always emitted, PTR = a pointer
# (omitted only when nil, i.e. absent or null).
OMIT, KEEP, PTR = 0, 1, 2

_MISSING = object()


class ListOf:
    __slots__ = ("of",)

    def __init__(self, of: Any) -> None:
        self.of = of


class MapOf:
    __slots__ = ("of",)

    def __init__(self, of: Any) -> None:
        self.of = of


class Struct:
    """A Go struct: ordered ``(json name, type, mode)`` fields; embedded structs are inlined."""

    __slots__ = ("always", "exact", "fields", "folded", "name")

    def __init__(self, name: str, *fields: tuple[str, Any, int] | Struct) -> None:
        self.name = name
        self.fields: list[tuple[str, Any, int]] = []
        self.exact: dict[str, int] = {}
        self.folded: dict[str, int] = {}
        # Fields that emit something (or fail) even when absent from the input: value structs,
        # non-omitempty fields and ParamValues (which cannot be marshalled without a value).
        self.always: set[int] = set()
        self.extend(*fields)

    def extend(self, *fields: tuple[str, Any, int] | Struct) -> None:
        for entry in fields:
            for field in entry.fields if isinstance(entry, Struct) else (entry,):
                name, kind, mode = field
                index = len(self.fields)
                self.exact[name] = index
                self.folded.setdefault(name.lower(), index)
                if mode != PTR and (mode == KEEP or kind is PV or isinstance(kind, Struct)):
                    self.always.add(index)
                self.fields.append(field)


def _zero(kind: Any) -> Any:
    if kind is STR:
        return ""
    if kind is BOOL:
        return False
    if kind is INT:
        return 0
    return None


def _decode_scalar(kind: str, value: Any, path: Path) -> Any:
    if kind is STR:
        if value is None:
            return ""
        if type(value) is not str:
            raise wrong_type(path, "a string", value)
        return value
    if kind is BOOL:
        if value is None:
            return False
        if type(value) is not bool:
            raise wrong_type(path, "a boolean", value)
        return value
    if kind is INT:
        if value is None:
            return 0
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise wrong_type(path, "an integer", value)
        return value
    if kind is TIME:
        parsed = parse_time(value, path)
        return None if parsed is None else format_seconds(parsed)
    if kind is DUR:
        return duration(value, path)
    if kind is PV:
        return param_value(value, path, present=value is not _MISSING)
    return value  # RAW


def marshal(value: Any, kind: Any, path: Path) -> Any:
    """Decode ``value`` into the Go type ``kind`` and return what ``json.Marshal`` emits."""
    if isinstance(kind, Struct):
        return _struct(value, kind, path)
    if isinstance(kind, ListOf):
        if value is None:
            return None
        if type(value) is not list:
            raise wrong_type(path, "an array", value)
        return [marshal(entry, kind.of, f"{path}[{index}]") for index, entry in enumerate(value)]
    if isinstance(kind, MapOf):
        if value is None:
            return None
        if type(value) is not dict:
            raise wrong_type(path, "an object", value)
        return {key: marshal(value[key], kind.of, f"{path}[{key}]") for key in sorted(value)}
    out = _decode_scalar(kind, value, path)
    if kind is PV and type(out) is dict:
        return {key: out[key] for key in sorted(out)}
    return out


def _empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value is False
        or (value == 0 and type(value) is int)
        or (type(value) in (list, dict) and not value)
    )


def _struct(value: Any, kind: Struct, path: Path) -> dict[str, Any]:
    if value is None:
        value = {}
    elif type(value) is not dict:
        raise wrong_type(path, "an object", value)
    given: dict[int, Any] = {}
    exact, folded = kind.exact, kind.folded
    for key, entry in value.items():
        index = exact.get(key)
        if index is None:
            if type(key) is not str:
                continue  # not a field name (YAML `1:`); Go's YAML→JSON makes it "1", also unknown
            index = folded.get(key.lower())
            if index is None:
                continue  # Go drops fields the struct does not declare
        given[index] = entry
    out: dict[str, Any] = {}
    # Fields that are absent and not `always` emit nothing: only the others are visited, in
    # declaration order.
    for index in sorted(kind.always.union(given)):
        name, field_kind, mode = kind.fields[index]
        raw = given.get(index, _MISSING)
        if type(raw) is str and (field_kind is STR or field_kind is PV):  # decodes to itself
            if raw or mode != OMIT:
                out[name] = raw
            continue
        where = f"{path}.{name}" if path else name
        if mode == PTR:
            if raw is _MISSING or raw is None:
                continue
            out[name] = marshal(raw, field_kind, where)
            continue
        if isinstance(field_kind, Struct):  # a value struct is always emitted
            out[name] = _struct(None if raw is _MISSING else raw, field_kind, where)
            continue
        if raw is _MISSING:
            if field_kind is PV:
                raise MarshalError("missing value", field=where)
            if mode == OMIT:
                continue
            out[name] = _zero(field_kind)
            continue
        encoded = marshal(raw, field_kind, where)
        if mode == OMIT and (_empty(encoded) or (field_kind is RAW and encoded is None)):
            continue
        out[name] = encoded
    return out


def _s(name: str, *fields: tuple[str, Any, int] | Struct) -> Struct:
    return Struct(name, *fields)


def _f(name: str, kind: Any, mode: int = OMIT) -> tuple[str, Any, int]:
    return (name, kind, mode)


STRINGS = ListOf(STR)
STRING_MAP = MapOf(STR)

PARAM = _s("Param", _f("name", STR, KEEP), _f("value", PV, KEEP))
PARAMS = ListOf(PARAM)
RESOLVER_REF = _s("ResolverRef", _f("resolver", STR), _f("params", PARAMS))
TASK_REF = _s("TaskRef", _f("name", STR), _f("kind", STR), _f("apiVersion", STR), RESOLVER_REF)
PIPELINE_REF = _s("PipelineRef", _f("name", STR), _f("apiVersion", STR), RESOLVER_REF)
STEP_REF = _s("Ref", _f("name", STR), RESOLVER_REF)
PROPERTY_SPEC = _s("PropertySpec", _f("type", STR))
PARAM_SPEC = _s(
    "ParamSpec",
    _f("name", STR, KEEP),
    _f("type", STR),
    _f("description", STR),
    _f("properties", MapOf(PROPERTY_SPEC)),
    _f("default", PV, PTR),
    _f("enum", STRINGS),
)
RESOURCES = _s(
    "ResourceRequirements",
    _f("limits", MapOf(RAW)),
    _f("requests", MapOf(RAW)),
    _f("claims", ListOf(RAW)),
)
WORKSPACE_USAGE = _s("WorkspaceUsage", _f("name", STR, KEEP), _f("mountPath", STR, KEEP))
OUTPUT_CONFIG = _s("StepOutputConfig", _f("path", STR))
STEP_RESULT = _s(
    "StepResult",
    _f("name", STR, KEEP),
    _f("type", STR),
    _f("properties", MapOf(PROPERTY_SPEC)),
    _f("description", STR),
)
WHEN = _s(
    "WhenExpression", _f("input", STR), _f("operator", STR), _f("values", STRINGS), _f("cel", STR)
)
_CONTAINER_HEAD = (
    _f("image", STR),
    _f("command", STRINGS),
    _f("args", STRINGS),
    _f("workingDir", STR),
)
# The fields that follow (ports, for a sidecar, in between) in each of Go's container types.
_CONTAINER_ENV = (
    _f("envFrom", ListOf(RAW)),
    _f("env", ListOf(RAW)),
    _f("computeResources", RESOURCES),
    _f("volumeMounts", ListOf(RAW)),
    _f("volumeDevices", ListOf(RAW)),
)
STEP = _s(
    "Step",
    _f("name", STR, KEEP),
    _f("displayName", STR),
    *_CONTAINER_HEAD,
    *_CONTAINER_ENV,
    _f("imagePullPolicy", STR),
    _f("securityContext", RAW, PTR),
    _f("script", STR),
    _f("timeout", DUR, PTR),
    _f("workspaces", ListOf(WORKSPACE_USAGE)),
    _f("onError", STR),
    _f("stdoutConfig", OUTPUT_CONFIG, PTR),
    _f("stderrConfig", OUTPUT_CONFIG, PTR),
    _f("ref", STEP_REF, PTR),
    _f("params", PARAMS),
    _f("results", ListOf(STEP_RESULT)),
    _f("when", ListOf(WHEN)),
)
STEP_TEMPLATE = _s(
    "StepTemplate",
    *_CONTAINER_HEAD,
    *_CONTAINER_ENV,
    _f("imagePullPolicy", STR),
    _f("securityContext", RAW, PTR),
)
SIDECAR = _s(
    "Sidecar",
    _f("name", STR, KEEP),
    *_CONTAINER_HEAD,
    _f("ports", ListOf(RAW)),
    *_CONTAINER_ENV,
    _f("livenessProbe", RAW, PTR),
    _f("readinessProbe", RAW, PTR),
    _f("startupProbe", RAW, PTR),
    _f("lifecycle", RAW, PTR),
    _f("terminationMessagePath", STR),
    _f("terminationMessagePolicy", STR),
    _f("imagePullPolicy", STR),
    _f("securityContext", RAW, PTR),
    _f("stdin", BOOL),
    _f("stdinOnce", BOOL),
    _f("tty", BOOL),
    _f("script", STR),
    _f("workspaces", ListOf(WORKSPACE_USAGE)),
    _f("restartPolicy", STR, PTR),
)
WORKSPACE_DECLARATION = _s(
    "WorkspaceDeclaration",
    _f("name", STR, KEEP),
    _f("description", STR),
    _f("mountPath", STR),
    _f("readOnly", BOOL),
    _f("optional", BOOL),
)
TASK_RESULT = _s(
    "TaskResult",
    _f("name", STR, KEEP),
    _f("type", STR),
    _f("properties", MapOf(PROPERTY_SPEC)),
    _f("description", STR),
    _f("value", PV, PTR),
)
TASK_SPEC = _s(
    "TaskSpec",
    _f("params", ListOf(PARAM_SPEC)),
    _f("displayName", STR),
    _f("description", STR),
    _f("steps", ListOf(STEP)),
    _f("volumes", ListOf(RAW)),
    _f("stepTemplate", STEP_TEMPLATE, PTR),
    _f("sidecars", ListOf(SIDECAR)),
    _f("workspaces", ListOf(WORKSPACE_DECLARATION)),
    _f("results", ListOf(TASK_RESULT)),
)
WORKSPACE_BINDING = _s(
    "WorkspaceBinding",
    _f("name", STR, KEEP),
    _f("subPath", STR),
    *(
        _f(name, RAW, PTR)
        for name in (
            "volumeClaimTemplate",
            "persistentVolumeClaim",
            "emptyDir",
            "configMap",
            "secret",
            "projected",
            "csi",
        )
    ),
)
CONTAINER_SPEC = _s("TaskRunStepSpec", _f("name", STR, KEEP), _f("computeResources", RESOURCES))
TASK_RUN_SPEC = _s(
    "TaskRunSpec",
    _f("debug", RAW, PTR),
    _f("params", PARAMS),
    _f("serviceAccountName", STR, KEEP),
    _f("taskRef", TASK_REF, PTR),
    _f("taskSpec", TASK_SPEC, PTR),
    _f("status", STR),
    _f("statusMessage", STR),
    _f("retries", INT),
    _f("timeout", DUR, PTR),
    _f("podTemplate", RAW, PTR),
    _f("workspaces", ListOf(WORKSPACE_BINDING)),
    _f("stepSpecs", ListOf(CONTAINER_SPEC)),
    _f("sidecarSpecs", ListOf(CONTAINER_SPEC)),
    _f("computeResources", RESOURCES, PTR),
    _f("managedBy", STR, PTR),
)

# ---- PipelineRun spec --------------------------------------------------------------------------

TASK_METADATA = _s("PipelineTaskMetadata", _f("labels", STRING_MAP), _f("annotations", STRING_MAP))
EMBEDDED_TASK = _s(
    "EmbeddedTask",
    _f("apiVersion", STR),
    _f("kind", STR),
    _f("spec", RAW, KEEP),
    _f("metadata", TASK_METADATA),
    TASK_SPEC,
)
MATRIX = _s(
    "Matrix",
    _f("params", PARAMS),
    _f("include", ListOf(_s("IncludeParams", _f("name", STR), _f("params", PARAMS)))),
)
PIPELINE_TASK = _s("PipelineTask")
PIPELINE_SPEC = _s("PipelineSpec")
PIPELINE_TASK.extend(
    _f("name", STR),
    _f("displayName", STR),
    _f("description", STR),
    _f("taskRef", TASK_REF, PTR),
    _f("taskSpec", EMBEDDED_TASK, PTR),
    _f("when", ListOf(WHEN)),
    _f("retries", INT),
    _f("runAfter", STRINGS),
    _f("params", PARAMS),
    _f("matrix", MATRIX, PTR),
    _f(
        "workspaces",
        ListOf(
            _s(
                "WorkspacePipelineTaskBinding",
                _f("name", STR, KEEP),
                _f("workspace", STR),
                _f("subPath", STR),
            )
        ),
    ),
    _f("timeout", DUR, PTR),
    _f("pipelineRef", PIPELINE_REF, PTR),
    _f("pipelineSpec", PIPELINE_SPEC, PTR),
    _f("onError", STR),
)
PIPELINE_SPEC.extend(
    _f("displayName", STR),
    _f("description", STR),
    _f("tasks", ListOf(PIPELINE_TASK)),
    _f("params", ListOf(PARAM_SPEC)),
    _f(
        "workspaces",
        ListOf(
            _s(
                "PipelineWorkspaceDeclaration",
                _f("name", STR, KEEP),
                _f("description", STR),
                _f("optional", BOOL),
            )
        ),
    ),
    _f(
        "results",
        ListOf(
            _s(
                "PipelineResult",
                _f("name", STR, KEEP),
                _f("type", STR),
                _f("description", STR, KEEP),
                _f("value", PV, KEEP),
            )
        ),
    ),
    _f("finally", ListOf(PIPELINE_TASK)),
)
PIPELINE_RUN_SPEC = _s(
    "PipelineRunSpec",
    _f("pipelineRef", PIPELINE_REF, PTR),
    _f("pipelineSpec", PIPELINE_SPEC, PTR),
    _f("params", PARAMS),
    _f("status", STR),
    _f(
        "timeouts",
        _s(
            "TimeoutFields",
            _f("pipeline", DUR, PTR),
            _f("tasks", DUR, PTR),
            _f("finally", DUR, PTR),
        ),
        PTR,
    ),
    _f(
        "taskRunTemplate",
        _s("PipelineTaskRunTemplate", _f("podTemplate", RAW, PTR), _f("serviceAccountName", STR)),
    ),
    _f("workspaces", ListOf(WORKSPACE_BINDING)),
    _f(
        "taskRunSpecs",
        ListOf(
            _s(
                "PipelineTaskRunSpec",
                _f("pipelineTaskName", STR),
                _f("serviceAccountName", STR),
                _f("podTemplate", RAW, PTR),
                _f("stepSpecs", ListOf(CONTAINER_SPEC)),
                _f("sidecarSpecs", ListOf(CONTAINER_SPEC)),
                _f("metadata", TASK_METADATA, PTR),
                _f("computeResources", RESOURCES, PTR),
                _f("timeout", DUR, PTR),
            )
        ),
    ),
    _f("managedBy", STR, PTR),
)

# ---- TaskRun status and the whole TaskRun (slsa-tekton `content`) ------------------------------

FEATURE_FLAGS = _s(
    "FeatureFlags",
    _f("disableCredsInit", BOOL),
    _f("runningInEnvWithInjectedSidecars", BOOL),
    _f("requireGitSSHSecretKnownHosts", BOOL),
    _f("enableAPIFields", STR),
    _f("sendCloudEventsForRuns", BOOL),
    _f("awaitSidecarReadiness", BOOL),
    _f("enforceNonfalsifiability", STR),
    _f("enableKeepPodOnCancel", BOOL),
    _f("verificationNoMatchPolicy", STR),
    _f("enableProvenanceInStatus", BOOL),
    _f("resultExtractionMethod", STR),
    _f("maxResultSize", INT),
    _f("setSecurityContext", BOOL),
    _f("setSecurityContextReadOnlyRootFilesystem", BOOL),
    _f("coschedule", STR),
    _f("enableCELInWhenExpression", BOOL),
    _f("enableStepActions", BOOL),
    _f("enableParamEnum", BOOL),
    _f("enableArtifacts", BOOL),
    _f("disableInlineSpec", STR),
    _f("enableConciseResolverSyntax", BOOL),
    _f("enableKubernetesSidecar", BOOL),
    _f("enableWaitExponentialBackoff", BOOL),
    _f("enableTerminationMessageCompression", BOOL),
    _f("enableTektonOCIBundles", BOOL, PTR),
)
REF_SOURCE = _s("RefSource", _f("uri", STR), _f("digest", STRING_MAP), _f("entryPoint", STR))
PROVENANCE = _s(
    "Provenance", _f("refSource", REF_SOURCE, PTR), _f("featureFlags", FEATURE_FLAGS, PTR)
)
RESULT = _s("TaskRunResult", _f("name", STR, KEEP), _f("type", STR), _f("value", PV, KEEP))
ARTIFACT = _s(
    "Artifact",
    _f("name", STR),
    _f("values", ListOf(_s("ArtifactValue", _f("digest", STRING_MAP), _f("uri", STR)))),
    _f("buildOutput", BOOL),
)
_CONTAINER_STATE = (_f("waiting", RAW, PTR), _f("running", RAW, PTR), _f("terminated", RAW, PTR))
STEP_STATE = _s(
    "StepState",
    *_CONTAINER_STATE,
    _f("name", STR),
    _f("container", STR),
    _f("imageID", STR),
    _f("results", ListOf(RESULT)),
    _f("provenance", PROVENANCE, PTR),
    _f("terminationReason", STR),
    _f("inputs", ListOf(ARTIFACT)),
    _f("outputs", ListOf(ARTIFACT)),
)
CONDITION = _s(
    "Condition",
    _f("type", STR, KEEP),
    _f("status", STR, KEEP),
    _f("severity", STR),
    _f("lastTransitionTime", TIME),
    _f("reason", STR),
    _f("message", STR),
)
TASK_RUN_STATUS = _s("TaskRunStatus")
TASK_RUN_STATUS.extend(
    _f("observedGeneration", INT),
    _f("conditions", ListOf(CONDITION)),
    _f("annotations", STRING_MAP),
    _f("podName", STR, KEEP),
    _f("startTime", TIME, PTR),
    _f("completionTime", TIME, PTR),
    _f("steps", ListOf(STEP_STATE)),
    _f("retriesStatus", ListOf(TASK_RUN_STATUS)),
    _f("results", ListOf(RESULT)),
    _f(
        "artifacts",
        _s("Artifacts", _f("inputs", ListOf(ARTIFACT)), _f("outputs", ListOf(ARTIFACT))),
        PTR,
    ),
    _f(
        "sidecars",
        ListOf(
            _s(
                "SidecarState",
                *_CONTAINER_STATE,
                _f("name", STR),
                _f("container", STR),
                _f("imageID", STR),
            )
        ),
    ),
    _f("taskSpec", TASK_SPEC, PTR),
    _f("provenance", PROVENANCE, PTR),
    _f("spanContext", STRING_MAP),
)
OBJECT_META = _s(
    "ObjectMeta",
    _f("name", STR),
    _f("generateName", STR),
    _f("namespace", STR),
    _f("selfLink", STR),
    _f("uid", STR),
    _f("resourceVersion", STR),
    _f("generation", INT),
    _f("creationTimestamp", TIME),
    _f("deletionTimestamp", TIME, PTR),
    _f("deletionGracePeriodSeconds", INT, PTR),
    _f("labels", STRING_MAP),
    _f("annotations", STRING_MAP),
    _f(
        "ownerReferences",
        ListOf(
            _s(
                "OwnerReference",
                _f("apiVersion", STR, KEEP),
                _f("kind", STR, KEEP),
                _f("name", STR, KEEP),
                _f("uid", STR, KEEP),
                _f("controller", BOOL, PTR),
                _f("blockOwnerDeletion", BOOL, PTR),
            )
        ),
    ),
    _f("finalizers", STRINGS),
    _f(
        "managedFields",
        ListOf(
            _s(
                "ManagedFieldsEntry",
                _f("manager", STR),
                _f("operation", STR),
                _f("apiVersion", STR),
                _f("time", TIME, PTR),
                _f("fieldsType", STR),
                _f("fieldsV1", RAW, PTR),
                _f("subresource", STR),
            )
        ),
    ),
)
# TypeMeta is left out: TaskRuns from client-go informers carry no apiVersion/kind.
TASK_RUN = _s(
    "TaskRun",
    _f("metadata", OBJECT_META),
    _f("spec", TASK_RUN_SPEC),
    _f("status", TASK_RUN_STATUS),
)
