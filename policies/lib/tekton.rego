# METADATA
# title: Tekton tasks in provenance
# description: >-
#   The tasks of a PipelineRun provenance, normalised from SLSA v0.2 (`buildConfig.tasks`) and
#   SLSA v1.0 (`resolvedDependencies` named `pipelineTask` with the TaskRun as base64 `content`,
#   Chains' slsa-tekton build type) into one shape:
#   {name, task_name, ref, params, results, status, steps, labels, annotations}.
package supply.lib.tekton

import rego.v1

_hex40 := `^[0-9a-f]{40}$`

_base64 := `^[A-Za-z0-9+/]*={0,2}$`

# The normalised tasks of one provenance attestation.
tasks(att) := [normalise_v02(t) |
	some t in _list_at(att, ["statement", "predicate", "buildConfig", "tasks"])
	is_object(t)
] if {
	not data.supply.lib.attestations.is_v1(att)
} else := [normalise_v1(tr) |
	some dep in _list_at(att, ["statement", "predicate", "buildDefinition", "resolvedDependencies"])
	is_object(dep)
	dep.name == "pipelineTask"
	tr := _decode(dep.content)
	is_object(tr)
]

# Every PipelineRun provenance of the input with its tasks normalised once (a rule, so the
# engine computes it once per evaluation; functions are not memoised):
# {attestation, tasks, build_tasks, git_clone_tasks, names}.
runs := [_run(att, tasks(att)) | some att in data.supply.lib.attestations.pipelinerun_attestations]

_run(att, ts) := {
	"attestation": att,
	"tasks": ts,
	"build_tasks": [t | some t in ts; _is_build(t)],
	"git_clone_tasks": [t | some t in ts; _is_git_clone(t)],
	"names": {n | some t in ts; some n in names(t)},
}

# The normalised tasks of every PipelineRun provenance in the input.
all_tasks := [t |
	some run in runs
	some t in run.tasks
]

_decode(content) := json.unmarshal(text) if {
	is_string(content)
	regex.match(_base64, content)
	text := base64.decode(content)
	json.is_valid(text)
}

# A SLSA v0.2 buildConfig task.
normalise_v02(t) := {
	"name": _string_at(t, ["name"]),
	"task_name": _task_name(ref, labels),
	"ref": ref,
	"params": _params_v02(t),
	"results": _results(_list_at(t, ["results"])),
	"status": _v02_status(t),
	"steps": _list_at(t, ["steps"]),
	"labels": labels,
	"annotations": _object_at(t, ["invocation", "environment", "annotations"]),
} if {
	ref := normalise_ref(_object_at(t, ["ref"]))
	labels := _object_at(t, ["invocation", "environment", "labels"])
}

# A TaskRun from a SLSA v1.0 pipelineTask dependency.
normalise_v1(tr) := {
	"name": _string_at(labels, ["tekton.dev/pipelineTask"]),
	"task_name": _task_name(ref, labels),
	"ref": ref,
	"params": _params_list(_list_at(tr, ["spec", "params"])),
	"results": _results(_v1_results(tr)),
	"status": _v1_status(tr),
	"steps": _v1_steps(tr),
	"labels": labels,
	"annotations": _object_at(tr, ["metadata", "annotations"]),
} if {
	ref := normalise_ref(_object_at(tr, ["spec", "taskRef"]))
	labels := _object_at(tr, ["metadata", "labels"])
}

# A task reference as {resolver, name, kind, bundle, url, revision, path, key, pinned, pinned_ref, tagged}.
# `key` is the trusted_tasks key: `oci://repo:tag` (or `oci://repo`) for bundles,
# `git+url.git//path` for git.
normalise_ref(r) := object.union(_ref_base(r), _ref_location(r))

_ref_base(r) := {
	"resolver": _string_at(r, ["resolver"]),
	"name": _ref_name(r),
	"kind": lower(_ref_kind(r)),
}

_ref_kind(r) := kind if {
	kind := _param(r, "kind")
	is_string(kind)
} else := kind if {
	kind := r.kind
	is_string(kind)
} else := "task"

_ref_name(r) := name if {
	name := _param(r, "name")
	is_string(name)
} else := name if {
	name := r.name
	is_string(name)
} else := ""

_ref_location(r) := _bundle_location(bundle) if {
	bundle := _bundle(r)
} else := _git_location(r) if {
	r.resolver == "git"
} else := {"key": "", "pinned": false, "pinned_ref": "", "tagged": false, "bundle": ""}

_bundle(r) := b if {
	b := r.bundle
	is_string(b)
	b != ""
} else := b if {
	r.resolver == "bundles"
	b := _param(r, "bundle")
	is_string(b)
}

_bundle_location(bundle) := {
	"bundle": bundle,
	"key": key,
	"pinned": data.supply.lib.image.is_pinned(bundle),
	"pinned_ref": parts.digest,
	"tagged": parts.tag != "",
} if {
	parts := data.supply.lib.image.parse(bundle)
	key := _bundle_key(parts)
}

_bundle_key(parts) := sprintf("oci://%s:%s", [parts.repo, parts.tag]) if parts.tag != ""

else := sprintf("oci://%s", [parts.repo])

_git_location(r) := {
	"bundle": "",
	"url": url,
	"revision": revision,
	"path": path,
	"key": sprintf("%s//%s", [_git_url(url), path]),
	"pinned": regex.match(_hex40, revision),
	"pinned_ref": revision,
	"tagged": false,
} if {
	url := _param_string(r, "url")
	revision := _param_string(r, "revision")
	path := _param_string(r, "pathInRepo")
}

_git_url(url) := _with_git_suffix(_with_git_prefix(url))

_with_git_prefix(url) := url if startswith(url, "git+")

else := concat("", ["git+", url])

_with_git_suffix(url) := url if endswith(url, ".git")

else := concat("", [url, ".git"])

_param(r, name) := value if {
	some p in _list_at(r, ["params"])
	is_object(p)
	p.name == name
	value := p.value
}

_param_string(r, name) := value if {
	value := _param(r, name)
	is_string(value)
} else := ""

_task_name(ref, labels) := name if {
	name := labels["tekton.dev/task"]
	is_string(name)
} else := ref.name

_params_v02(t) := params if {
	params := object.get(t, ["invocation", "parameters"], null)
	is_object(params)
} else := _params_list(_list_at(t, ["params"]))

_params_list(list) := {p.name: p.value |
	some p in list
	is_object(p)
	is_string(p.name)
}

_results(list) := {r.name: r.value |
	some r in list
	is_object(r)
	is_string(r.name)
}

_v1_results(tr) := results if {
	results := object.get(tr, ["status", "results"], null)
	is_array(results)
} else := _list_at(tr, ["status", "taskResults"])

_v1_status(tr) := status if {
	conditions := [c |
		some c in _list_at(tr, ["status", "conditions"])
		is_object(c)
		c.type == "Succeeded"
	]
	count(conditions) > 0
	status := _condition_status(conditions[0].status)
} else := "Missing"

_v02_status(t) := status if {
	status := _string_at(t, ["status"])
	status != ""
} else := "Missing"

_condition_status("True") := "Succeeded"

_condition_status("False") := "Failed"

_condition_status(s) := "Running" if not s in {"True", "False"}

_v1_steps(tr) := steps if {
	steps := object.get(tr, ["status", "taskSpec", "steps"], null)
	is_array(steps)
	count(steps) > 0
} else := _list_at(tr, ["status", "steps"])

# The value of a task result as a string with surrounding white space removed ("" when absent).
result_string(task, name) := trim_space(value) if {
	value := task.results[name]
	is_string(value)
} else := ""

# The names a task answers to in required-task lists: its task name, and name[param=value]
# for each string parameter.
names(task) := {task.task_name} | {sprintf("%s[%s=%s]", [task.task_name, k, v]) |
	some k, v in task.params
	is_string(v)
}

# Build tasks: tasks that report IMAGE_URL and IMAGE_DIGEST results.
build_tasks(att) := [t | some t in tasks(att); _is_build(t)]

_is_build(t) if {
	result_string(t, "IMAGE_URL") != ""
	result_string(t, "IMAGE_DIGEST") != ""
}

# Git clone tasks: tasks that report `url` and `commit` results.
git_clone_tasks(att) := [t | some t in tasks(att); _is_git_clone(t)]

_is_git_clone(t) if {
	result_string(t, "url") != ""
	result_string(t, "commit") != ""
}

_list_at(obj, path) := value if {
	value := object.get(obj, path, null)
	is_array(value)
} else := []

_object_at(obj, path) := value if {
	value := object.get(obj, path, null)
	is_object(value)
} else := {}

_string_at(obj, path) := value if {
	value := object.get(obj, path, null)
	is_string(value)
} else := ""

_string(value) := value if is_string(value)

else := ""
