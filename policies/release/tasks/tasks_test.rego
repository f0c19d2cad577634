package tasks_test

import rego.v1

import data.supply.lib.fixtures_test as f
import data.tasks

_required := [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["git-clone", "buildah"]}]

test_required_tasks_present_v02 if {
	count(tasks.deny) == 0 with input as f.input_v02 with data["required-tasks"] as _required
}

test_required_tasks_present_v1 if {
	count(tasks.deny) == 0 with input as f.input_v1 with data["required-tasks"] as _required
}

test_required_task_missing_fails if {
	required := [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["git-clone", "buildah", "clair-scan"]}]
	results := tasks.deny with input as f.input_v02 with data["required-tasks"] as required
	f.codes(results) == {"tasks.required_tasks_found"}
	some r in results
	r.msg == `Required task "clair-scan" is missing`
	r.term == "clair-scan"
}

test_required_task_missing_v1_fails if {
	required := [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["clair-scan"]}]
	f.codes(tasks.deny) == {"tasks.required_tasks_found"} with input as f.input_v1 with data["required-tasks"] as required
}

test_required_from_rule_data if {
	required := [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["clair-scan"]}]
	f.codes(tasks.deny) == {"tasks.required_tasks_found"} with input as f.input_v02 with data.rule_data["required-tasks"] as required
}

test_alternatives if {
	ok := [{"tasks": [["buildah-remote", "buildah"]]}]
	count(tasks.deny) == 0 with input as f.input_v02 with data["required-tasks"] as ok
	missing := [{"tasks": [["clair-scan", "snyk"]]}]
	results := tasks.deny with input as f.input_v02 with data["required-tasks"] as missing
	some r in results
	r.msg == `One of "clair-scan", "snyk" tasks is missing`
	r.term == ["clair-scan", "snyk"]
}

test_required_task_with_parameter if {
	build := object.union(f.standard_tasks_v02[1], {"invocation": {"parameters": {"HERMETIC": "true"}}})
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], build])]}
	count(tasks.deny) == 0 with input as inp with data["required-tasks"] as [{"tasks": ["buildah[HERMETIC=true]"]}]
	f.codes(tasks.deny) == {"tasks.required_tasks_found"} with input as f.input_v02
		with data["required-tasks"] as [{"tasks": ["buildah[HERMETIC=true]"]}]
}

test_future_required_task_warns if {
	required := [
		{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["git-clone", "buildah"]},
		{"effective_on": "2099-01-01T00:00:00Z", "tasks": ["git-clone", "buildah", "clair-scan"]},
	]
	count(tasks.deny) == 0 with input as f.input_v02 with data["required-tasks"] as required
	results := tasks.warn with input as f.input_v02 with data["required-tasks"] as required
	f.codes(results) == {"tasks.future_required_tasks_found", "tasks.pipeline_required_tasks_list_provided"}
	some r in results
	r.msg == `Task "clair-scan" is missing and will be required on 2099-01-01T00:00:00Z`
}

test_pipeline_required_tasks_win if {
	pipelines := {"generic": [{"effective_on": "2024-01-01T00:00:00Z", "tasks": ["sast-check"]}]}
	results := tasks.deny with input as f.input_v02 with data["required-tasks"] as _required
		with data["pipeline-required-tasks"] as pipelines
	f.codes(results) == {"tasks.required_tasks_found"}
	warned := tasks.warn with input as f.input_v02 with data["required-tasks"] as _required
		with data["pipeline-required-tasks"] as pipelines
	count(warned) == 0
}

test_pipeline_named_by_build_task_label if {
	build := object.union(f.standard_tasks_v02[1], {"invocation": {"environment": {"labels": {"build.appstudio.redhat.com/build_type": "docker"}}}})
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], build])]}
	pipelines := {
		"generic": [{"tasks": ["git-clone"]}],
		"docker": [{"tasks": ["clamav-scan"]}],
	}
	results := tasks.deny with input as inp with data["pipeline-required-tasks"] as pipelines
	some r in results
	r.term == "clamav-scan"
}

test_no_required_data_fails if {
	f.codes(tasks.deny) == {"tasks.required_tasks_list_provided"} with input as f.input_v02
}

test_no_tasks_fails if {
	inp := {"attestations": [f.att_v02([])]}
	f.codes(tasks.deny) == {"tasks.pipeline_has_tasks"} with input as inp with data["required-tasks"] as _required
}

test_failed_task_fails if {
	failed := object.union(f.standard_tasks_v02[1], {"status": "Failed"})
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], failed])]}
	results := tasks.deny with input as inp with data["required-tasks"] as _required
	f.codes(results) == {"tasks.successful_pipeline_tasks"}
	some r in results
	r.msg == `Pipeline task "build" did not complete successfully, "Failed"`
}

test_failed_task_v1_fails if {
	tr := f.standard_taskruns[1]
	failed := object.union(tr, {"status": {"conditions": [{"type": "Succeeded", "status": "False"}]}})
	inp := {"attestations": [f.att_v1([f.standard_taskruns[0], failed])]}
	f.codes(tasks.deny) == {"tasks.successful_pipeline_tasks"} with input as inp with data["required-tasks"] as _required
}

test_unpinned_reference_fails if {
	task := f.task_v02("build", "buildah", "registry.example/catalog/task-buildah:0.1", f.results_build)
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], task])]}
	results := tasks.deny with input as inp with data["required-tasks"] as _required
	f.codes(results) == {"tasks.pinned_task_refs"}
	some r in results
	r.msg == "Task buildah is used by pipeline task build via an unpinned reference."
}

test_bad_data_fails if {
	bad := [{"effective_on": "yesterday", "tasks": ["a", 3]}, "x"]
	results := tasks.deny with input as f.input_v02 with data["required-tasks"] as bad
	"tasks.data_provided" in f.codes(results)
	msgs := {r.msg | some r in results; r.code == "tasks.data_provided"}
	msgs == {
		"Data required-tasks has unexpected format: [0]: effective_on is not an RFC 3339 date-time",
		"Data required-tasks has unexpected format: [0]: tasks[1] is not a task name or a list of task names",
		"Data required-tasks has unexpected format: [1]: not an object",
	}
}

test_pipeline_data_of_wrong_type_fails if {
	results := tasks.deny with input as f.input_v02 with data["required-tasks"] as _required
		with data["pipeline-required-tasks"] as ["docker"]
	f.codes(results) == {"tasks.data_provided"}
}
