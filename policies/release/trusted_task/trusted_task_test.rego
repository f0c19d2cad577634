package trusted_task_test

import rego.v1

import data.supply.lib.fixtures_test as f
import data.trusted_task

test_trusted_v02_passes if {
	results := trusted_task.deny | trusted_task.warn with input as f.input_v02 with data.trusted_tasks as f.trusted_tasks
	count(results) == 0
}

test_trusted_v1_passes if {
	results := trusted_task.deny | trusted_task.warn with input as f.input_v1 with data.trusted_tasks as f.trusted_tasks
	count(results) == 0
}

test_trusted_from_rule_data if {
	count(trusted_task.deny) == 0 with input as f.input_v02 with data.rule_data.trusted_tasks as f.trusted_tasks
}

test_unknown_digest_fails if {
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-buildah:0.1": [{"ref": f.digest_c}]})
	results := trusted_task.deny with input as f.input_v1 with data.trusted_tasks as data_
	f.codes(results) == {"trusted_task.trusted"}
	some r in results
	r.term == "buildah"
	r.effective_on == "2024-05-07T00:00:00Z"
	r.msg == sprintf(`Pipeline task "build" uses an untrusted task reference, %s is not a trusted version of oci://registry.example/catalog/task-buildah:0.1 (unknown or expired)`, [f.digest_b])
}

test_unlisted_task_fails if {
	data_ := {"oci://registry.example/catalog/task-git-clone:0.1": [{"ref": f.digest_a}]}
	results := trusted_task.deny with input as f.input_v02 with data.trusted_tasks as data_
	f.codes(results) == {"trusted_task.trusted"}
	some r in results
	r.msg == `Pipeline task "build" uses an untrusted task reference, no trusted_tasks entry for oci://registry.example/catalog/task-buildah:0.1`
}

test_expired_version_fails if {
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-buildah:0.1": [
		{"ref": f.digest_c},
		{"ref": f.digest_b, "expires_on": "2025-06-01T00:00:00Z"},
	]})
	results := trusted_task.deny with input as f.input_v02 with data.trusted_tasks as data_
		with data.config.policy.when_ns as f.when_ns
	f.codes(results) == {"trusted_task.trusted"}
}

test_expiring_version_warns if {
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-buildah:0.1": [
		{"ref": f.digest_c},
		{"ref": f.digest_b, "expires_on": "2026-02-01T00:00:00Z"},
	]})
	denied := trusted_task.deny with input as f.input_v02 with data.trusted_tasks as data_
		with data.config.policy.when_ns as f.when_ns
	warned := trusted_task.warn with input as f.input_v02 with data.trusted_tasks as data_
		with data.config.policy.when_ns as f.when_ns
	count(denied) == 0
	f.codes(warned) == {"trusted_task.current"}
	some r in warned
	r.msg == sprintf(`A newer version of task "build" exists. Please update before 2026-02-01T00:00:00Z. The current bundle is %q and the latest bundle ref is %q`, [f.bundle("buildah", f.digest_b), f.digest_c])
}

test_expiry_outside_warning_window_is_quiet if {
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-buildah:0.1": [
		{"ref": f.digest_c},
		{"ref": f.digest_b, "expires_on": "2026-02-01T00:00:00Z"},
	]})
	warned := trusted_task.warn with input as f.input_v02 with data.trusted_tasks as data_
		with data.config.policy.when_ns as f.when_ns
		with data.rule_data.task_expiry_warning_days as 7
	count(warned) == 0
}

test_unpinned_bundle_warns_and_fails if {
	task := f.task_v02("build", "buildah", "registry.example/catalog/task-buildah:0.1", f.results_build)
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], task])]}
	denied := trusted_task.deny with input as inp with data.trusted_tasks as f.trusted_tasks
	warned := trusted_task.warn with input as inp with data.trusted_tasks as f.trusted_tasks
	f.codes(denied) == {"trusted_task.trusted"}
	f.codes(warned) == {"trusted_task.pinned"}
	some r in warned
	r.msg == `Pipeline task "build" uses an unpinned task reference, reference "registry.example/catalog/task-buildah:0.1" is not pinned to a digest or commit`
}

test_untagged_bundle_warns if {
	task := f.task_v02("build", "buildah", sprintf("registry.example/catalog/task-buildah@%s", [f.digest_b]), f.results_build)
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], task])]}
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-buildah:0.2": [{"ref": f.digest_b}]})
	denied := trusted_task.deny with input as inp with data.trusted_tasks as data_
	warned := trusted_task.warn with input as inp with data.trusted_tasks as data_
	count(denied) == 0 # an untagged reference matches any version's records
	f.codes(warned) == {"trusted_task.tagged"}
}

test_git_reference_trusted_by_commit if {
	task := object.union(f.standard_tasks_v02[1], {"ref": {"resolver": "git", "params": [
		{"name": "url", "value": "https://git.example.com/catalog"},
		{"name": "revision", "value": f.commit},
		{"name": "pathInRepo", "value": "task/buildah/0.1/buildah.yaml"},
		{"name": "name", "value": "buildah"},
	]}})
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], task])]}
	data_ := object.union(f.trusted_tasks, {"git+https://git.example.com/catalog.git//task/buildah/0.1/buildah.yaml": [{"ref": f.commit}]})
	count(trusted_task.deny) == 0 with input as inp with data.trusted_tasks as data_
}

test_missing_data_fails if {
	results := trusted_task.deny with input as f.input_v02
	f.codes(results) == {"trusted_task.data"}
}

test_bad_data_format_fails if {
	data_ := object.union(f.trusted_tasks, {"oci://registry.example/catalog/task-x:0.1": [{"ref": 7, "expires_on": "tomorrow", "extra": true}]})
	results := trusted_task.deny with input as f.input_v02 with data.trusted_tasks as data_
	f.codes(results) == {"trusted_task.data_format"}
	msgs := {r.msg | some r in results}
	msgs == {
		"trusted_tasks data has unexpected format: oci://registry.example/catalog/task-x:0.1[0]: ref is not a string",
		"trusted_tasks data has unexpected format: oci://registry.example/catalog/task-x:0.1[0]: expires_on is not an RFC 3339 date-time",
		`trusted_tasks data has unexpected format: oci://registry.example/catalog/task-x:0.1[0]: unexpected key "extra"`,
	}
}

test_rule_data_of_wrong_type_fails if {
	results := trusted_task.deny with input as f.input_v02 with data.trusted_tasks as f.trusted_tasks
		with data.rule_data.trusted_tasks as ["x"]
	f.codes(results) == {"trusted_task.data_format"}
}
