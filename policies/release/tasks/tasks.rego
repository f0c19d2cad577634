# METADATA
# title: Tasks
# description: >-
#   Checks the tasks of the build PipelineRun: there are some, they succeeded, their references
#   are pinned, and the required tasks ran. Required tasks come from the `required-tasks` data
#   (a list of `{effective_on, tasks}` entries) and, per pipeline, from
#   `pipeline-required-tasks` (`{pipeline: [entries]}`); the pipeline is named by the
#   `build.appstudio.redhat.com/build_type` label of the build task, else by the PipelineRun's
#   `pipelines.openshift.io/runtime` label. A required task is a task name, `name[PARAM=value]`,
#   or a list of alternatives.
# custom:
#   rule_data:
#   - required-tasks
#   - pipeline-required-tasks
package tasks

import rego.v1

# METADATA
# title: Pipeline run includes at least one task
# description: The PipelineRun provenance records at least one task.
# custom:
#   short_name: pipeline_has_tasks
#   failure_msg: No tasks found in PipelineRun attestation
#   solution: >-
#     Make sure the pipeline ran tasks and that Tekton Chains records them (for SLSA v1.0 use the
#     `https://data.supply.lib.tekton.dev/chains/v2/slsa-tekton` build type, which embeds each TaskRun).
#   collections:
#   - minimal
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.tasks) == 0
	res := data.supply.lib.result.make("tasks.pipeline_has_tasks", "No tasks found in PipelineRun attestation", [])
}

# METADATA
# title: Successful pipeline tasks
# description: Every task of the PipelineRun succeeded.
# custom:
#   short_name: successful_pipeline_tasks
#   failure_msg: Pipeline task %q did not complete successfully, %q
#   solution: Fix the failing task and build again.
#   collections:
#   - konflux
#   depends_on:
#   - tasks.pipeline_has_tasks
deny contains res if {
	some task in data.supply.lib.tekton.all_tasks
	task.status != "Succeeded"
	res := data.supply.lib.result.with_term(
		"tasks.successful_pipeline_tasks",
		"Pipeline task %q did not complete successfully, %q",
		[task.name, task.status],
		task.name,
	)
}

# METADATA
# title: All required tasks were included in the pipeline
# description: >-
#   Every task required now (the newest `required-tasks` or `pipeline-required-tasks` entry in
#   effect) ran in the PipelineRun.
# custom:
#   short_name: required_tasks_found
#   failure_msg: '%s is missing'
#   solution: Add the missing task to the build pipeline.
#   collections:
#   - konflux
#   depends_on:
#   - tasks.pipeline_has_tasks
#   rule_data:
#   - required-tasks
#   - pipeline-required-tasks
deny contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.tasks) > 0
	current := _current(run)
	some required in _missing(run, current.tasks)
	res := data.supply.lib.result.with_term("tasks.required_tasks_found", "%s is missing", [_describe(required, false)], required)
}

# METADATA
# title: Future required tasks were found
# description: >-
#   Warn about a task that the newest `required-tasks` entry (not yet in effect) requires and the
#   PipelineRun did not run.
# custom:
#   short_name: future_required_tasks_found
#   failure_msg: '%s is missing and will be required on %s'
#   solution: Add the task to the build pipeline before the date.
#   collections:
#   - konflux
#   depends_on:
#   - tasks.pipeline_has_tasks
#   rule_data:
#   - required-tasks
#   - pipeline-required-tasks
warn contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.tasks) > 0
	latest := _latest(run)
	some required in _missing(run, latest.tasks)
	not required in _current_tasks(run)
	res := data.supply.lib.result.with_term(
		"tasks.future_required_tasks_found",
		"%s is missing and will be required on %s",
		[_describe(required, true), latest.effective_on],
		required,
	)
}

# METADATA
# title: Required tasks list was provided
# description: Some required tasks are configured (`required-tasks` or `pipeline-required-tasks`).
# custom:
#   short_name: required_tasks_list_provided
#   failure_msg: Missing required required-tasks data
#   solution: Add a data source with the `required-tasks` list to the policy.
#   collections:
#   - konflux
#   rule_data:
#   - required-tasks
#   - pipeline-required-tasks
deny contains res if {
	count(data.supply.lib.tekton.runs) > 0
	count(_default_entries) == 0
	every run in data.supply.lib.tekton.runs {
		count(_pipeline_entries(run)) == 0
	}
	res := data.supply.lib.result.make("tasks.required_tasks_list_provided", "Missing required required-tasks data", [])
}

# METADATA
# title: Required tasks list for pipeline was provided
# description: Warn when `pipeline-required-tasks` has no entry for the PipelineRun's pipeline.
# custom:
#   short_name: pipeline_required_tasks_list_provided
#   failure_msg: Required tasks do not exist for pipeline
#   solution: Add the pipeline's required tasks to `pipeline-required-tasks`.
#   collections:
#   - konflux
#   rule_data:
#   - pipeline-required-tasks
warn contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.tasks) > 0
	count(_pipeline_entries(run)) == 0
	res := data.supply.lib.result.make("tasks.pipeline_required_tasks_list_provided", "Required tasks do not exist for pipeline", [])
}

# METADATA
# title: Pinned Task references
# description: Every task reference is immutable (a bundle digest or a git commit).
# custom:
#   short_name: pinned_task_refs
#   failure_msg: Task %s is used by pipeline task %s via an unpinned reference.
#   solution: Refer to task bundles by digest, and to git tasks by commit.
#   collections:
#   - konflux
#   depends_on:
#   - tasks.pipeline_has_tasks
deny contains res if {
	some task in data.supply.lib.tekton.all_tasks
	not task.ref.pinned
	res := data.supply.lib.result.with_term(
		"tasks.pinned_task_refs",
		"Task %s is used by pipeline task %s via an unpinned reference.",
		[task.task_name, task.name],
		task.task_name,
	)
}

# METADATA
# title: Data provided
# description: >-
#   `required-tasks` is a list and `pipeline-required-tasks` an object of lists of
#   `{effective_on, tasks}` entries; `tasks` holds names or lists of names, `effective_on` is an
#   RFC 3339 date-time.
# custom:
#   short_name: data_provided
#   failure_msg: '%s'
#   solution: Fix the required tasks data.
#   collections:
#   - konflux
#   rule_data:
#   - required-tasks
#   - pipeline-required-tasks
deny contains res if {
	some message in _data_errors
	res := data.supply.lib.result.with_severity(data.supply.lib.result.make("tasks.data_provided", "%s", [message]), "failure")
}

_raw_default := value if {
	value := data["required-tasks"]
} else := data.supply.lib.rule_data.get("required-tasks")

_raw_pipelines := value if {
	value := data["pipeline-required-tasks"]
} else := value if {
	value := data.supply.lib.rule_data.get("pipeline-required-tasks")
	is_object(value)
} else := {}

_default_entries := [e | some e in _valid_entries(_raw_default)]

_valid_entries(list) := [_dated(e) |
	is_array(list)
	some e in list
	count(_entry_problems(e)) == 0
]

_dated(e) := object.union({"effective_on": "1970-01-01T00:00:00Z"}, e)

_selectors(run) := labels if {
	labels := {l |
		some task in run.build_tasks
		l := task.labels["build.appstudio.redhat.com/build_type"]
		is_string(l)
	}
	count(labels) > 0
} else := {l |
	l := data.supply.lib.attestations.pipelinerun_labels(run.attestation)["pipelines.openshift.io/runtime"]
	is_string(l)
}

_pipeline_entries(run) := [e |
	is_object(_raw_pipelines)
	some selector in _selectors(run)
	some e in _valid_entries(object.get(_raw_pipelines, selector, []))
]

_entries(run) := _pipeline_entries(run) if count(_pipeline_entries(run)) > 0

else := _default_entries

_current(run) := entry if {
	entry := data.supply.lib.time.most_current(_entries(run))
} else := {"effective_on": "", "tasks": []}

_latest(run) := entry if {
	entry := data.supply.lib.time.newest(_entries(run))
} else := {"effective_on": "", "tasks": []}

_current_tasks(run) := _current(run).tasks

# Required items (names or lists of alternatives) that none of the att's tasks answers to.
_missing(run, required) := {item |
	some item in required
	not _present(item, run.names)
}

_present(item, names) if {
	is_string(item)
	item in names
}

_present(item, names) if {
	is_array(item)
	some alternative in item
	alternative in names
}

_describe(item, _) := sprintf(`One of "%s" tasks`, [concat(`", "`, item)]) if is_array(item)

_describe(item, true) := sprintf("Task %q", [item]) if is_string(item)

_describe(item, false) := sprintf("Required task %q", [item]) if is_string(item)

_data_errors contains msg if {
	not is_array(_raw_default)
	msg := "Data required-tasks has unexpected format: not a list"
}

_data_errors contains msg if {
	is_array(_raw_default)
	some i, e in _raw_default
	some problem in _entry_problems(e)
	msg := sprintf("Data required-tasks has unexpected format: [%d]: %s", [i, problem])
}

_data_errors contains msg if {
	not is_object(_raw_pipelines)
	msg := "Data pipeline-required-tasks has unexpected format: not an object"
}

_data_errors contains msg if {
	is_object(_raw_pipelines)
	some pipeline, list in _raw_pipelines
	not is_array(list)
	msg := sprintf("Data pipeline-required-tasks has unexpected format: %s: not a list", [pipeline])
}

_data_errors contains msg if {
	is_object(_raw_pipelines)
	some pipeline, list in _raw_pipelines
	is_array(list)
	some i, e in list
	some problem in _entry_problems(e)
	msg := sprintf("Data pipeline-required-tasks has unexpected format: %s[%d]: %s", [pipeline, i, problem])
}

_entry_problems(e) := {"not an object"} if {
	not is_object(e)
} else := problems if {
	problems := _tasks_problems(object.get(e, "tasks", null)) | {"effective_on is not an RFC 3339 date-time" |
		"effective_on" in object.keys(e)
		not data.supply.lib.time.is_rfc3339(e.effective_on)
	}
}

_tasks_problems(tasks) := {"tasks is not a list"} if {
	not is_array(tasks)
} else := {sprintf("tasks[%d] is not a task name or a list of task names", [i]) |
	some i, item in tasks
	not _task_item(item)
}

_task_item(item) if is_string(item)

_task_item(item) if {
	is_array(item)
	count(item) > 0
	every name in item {
		is_string(name)
	}
}
