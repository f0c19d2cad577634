package supply.lib_test

import rego.v1

import data.supply.lib.fixtures_test as f

# rule data

# (allowed_registry_prefixes has no built-in default.)
test_rule_data_precedence if {
	data.supply.lib.rule_data.get("allowed_registry_prefixes") == 1 with data.rule_data__configuration__.allowed_registry_prefixes as 1
		with data.rule_data_custom.allowed_registry_prefixes as 2
		with data.rule_data.allowed_registry_prefixes as 3
	data.supply.lib.rule_data.get("allowed_registry_prefixes") == 2 with data.rule_data_custom.allowed_registry_prefixes as 2
		with data.rule_data.allowed_registry_prefixes as 3
	data.supply.lib.rule_data.get("allowed_registry_prefixes") == 3 with data.rule_data.allowed_registry_prefixes as 3
	data.supply.lib.rule_data.get("allowed_builder_ids") == ["https://tekton.dev/chains/v2"]
	data.supply.lib.rule_data.get("allowed_registry_prefixes") == []
}

test_rule_data_false_and_zero_are_values if {
	data.supply.lib.rule_data.get("task_expiry_warning_days") == 0
	data.supply.lib.rule_data.get("allowed_registry_prefixes") == false with data.rule_data.allowed_registry_prefixes as false
}

test_rule_data_list if {
	data.supply.lib.rule_data.list("allowed_registry_prefixes") == [] with data.rule_data.allowed_registry_prefixes as "x"
	data.supply.lib.rule_data.list("allowed_registry_prefixes") == ["x"] with data.rule_data.allowed_registry_prefixes as ["x"]
}

test_string_list_errors if {
	errors := data.supply.lib.rule_data.string_list_errors("allowed_registry_prefixes") with data.rule_data.allowed_registry_prefixes as ["a", "a", 1]
	{e.message | some e in errors} == {
		"Rule data allowed_registry_prefixes has unexpected format: item 2 is not a string",
		"Rule data allowed_registry_prefixes has unexpected format: items are not unique",
	}
}

# time

test_effective_time_from_config if {
	data.supply.lib.time.effective_ns == 5 with data.config.policy.when_ns as 5
	data.supply.lib.time.effective_ns > 1700000000000000000
}

test_rfc3339 if {
	data.supply.lib.time.is_rfc3339("2025-01-01T00:00:00Z")
	data.supply.lib.time.is_rfc3339("2025-01-01T00:00:00.5+02:00")
	not data.supply.lib.time.is_rfc3339("2025-01-01")
	not data.supply.lib.time.is_rfc3339("2025-13-01T00:00:00Z")
	not data.supply.lib.time.is_rfc3339(7)
	data.supply.lib.time.is_rfc3339("2024-02-29T00:00:00Z")
	data.supply.lib.time.is_rfc3339("2000-02-29T00:00:00Z")
	not data.supply.lib.time.is_rfc3339("1900-02-29T00:00:00Z")
	not data.supply.lib.time.is_rfc3339("2025-02-29T00:00:00Z")
	not data.supply.lib.time.is_rfc3339("2025-04-31T00:00:00Z")
	not data.supply.lib.time.parse_ns("2025-02-30T00:00:00Z")
	not data.supply.lib.time.parse_ns("tomorrow")
}

test_most_current_and_newest if {
	items := [
		{"effective_on": "2024-01-01T00:00:00Z", "v": 1},
		{"effective_on": "2099-01-01T00:00:00Z", "v": 3},
		{"effective_on": "2025-01-01T00:00:00Z", "v": 2},
		{"effective_on": "bad", "v": 4},
	]
	data.supply.lib.time.most_current(items).v == 2 with data.config.policy.when_ns as f.when_ns
	data.supply.lib.time.newest(items).v == 3
	not data.supply.lib.time.most_current([{"effective_on": "2099-01-01T00:00:00Z"}])
}

# image references

test_image_parse if {
	data.supply.lib.image.parse(f.bundle("x", f.digest_a)) == {"repo": "registry.example/catalog/task-x", "tag": "0.1", "digest": f.digest_a}
	data.supply.lib.image.parse("localhost:5000/a/b") == {"repo": "localhost:5000/a/b", "tag": "", "digest": ""}
	data.supply.lib.image.parse("localhost:5000/a/b:1@sha256:00") == {"repo": "localhost:5000/a/b", "tag": "1", "digest": "sha256:00"}
	data.supply.lib.image.is_pinned(f.bundle("x", f.digest_a))
	not data.supply.lib.image.is_pinned("localhost:5000/a/b:1@sha256:00")
}

# Tekton tasks: the same run gives the same normalised tasks from SLSA v0.2 and v1.0

_comparable(task) := {k: task[k] | some k in ["name", "task_name", "ref", "results", "status"]}

test_v02_and_v1_tasks_agree if {
	v02 := {_comparable(t) | some t in data.supply.lib.tekton.tasks(f.att_v02(f.standard_tasks_v02))}
	v1 := {_comparable(t) | some t in data.supply.lib.tekton.tasks(f.att_v1(f.standard_taskruns))}
	v02 == v1
	count(v02) == 2
}

test_normalised_task if {
	some task in data.supply.lib.tekton.tasks(f.att_v1(f.standard_taskruns))
	task.name == "build"
	task.task_name == "buildah"
	task.ref.key == "oci://registry.example/catalog/task-buildah:0.1"
	task.ref.pinned_ref == f.digest_b
	task.ref.tagged
	task.status == "Succeeded"
	count(task.steps) == 1
	task.results.IMAGE_DIGEST == f.image_digest
}

test_v1_bad_content_is_skipped if {
	att := f.att_v1(f.standard_taskruns)
	bd := object.union(att.statement.predicate.buildDefinition, {"resolvedDependencies": [
		{"name": "pipelineTask", "content": "!!!not base64"},
		{"name": "pipelineTask", "content": base64.encode("not json")},
		{"name": "pipelineTask", "content": 7},
	]})
	bad := {"statement": object.union(att.statement, {"predicate": object.union(att.statement.predicate, {"buildDefinition": bd})})}
	data.supply.lib.tekton.tasks(bad) == []
}

test_v02_task_of_wrong_shape if {
	tasks := data.supply.lib.tekton.tasks(f.att_v02([{"name": "odd", "ref": "x", "results": "y", "invocation": 3}, "string"]))
	count(tasks) == 1
	tasks[0].name == "odd"
	tasks[0].status == "Missing"
	tasks[0].ref.pinned == false
}

test_git_ref if {
	ref := data.supply.lib.tekton.normalise_ref({"resolver": "git", "params": [
		{"name": "url", "value": "https://git.example.com/catalog"},
		{"name": "revision", "value": "main"},
		{"name": "pathInRepo", "value": "task/x.yaml"},
	]})
	ref.key == "git+https://git.example.com/catalog.git//task/x.yaml"
	ref.pinned == false
}

test_task_names_with_params if {
	task := {"task_name": "buildah", "params": {"HERMETIC": "true", "LIST": ["a"]}}
	data.supply.lib.tekton.names(task) == {"buildah", "buildah[HERMETIC=true]"}
}

# SBOM purls

test_parse_purl if {
	data.supply.lib.sbom.parse_purl("pkg:npm/%40babel/core@7.29.0?arch=x#src/lib") == {"type": "npm", "namespace": "@babel", "name": "core", "version": "7.29.0", "subpath": "src/lib"}
	data.supply.lib.sbom.parse_purl("pkg:golang/k8s.io/client-go").namespace == "k8s.io"
	data.supply.lib.sbom.parse_purl("pkg:npm/@babel/core").version == ""
	not data.supply.lib.sbom.parse_purl("pkg:npm")
	not data.supply.lib.sbom.parse_purl("npm/x@1")
	not data.supply.lib.sbom.parse_purl(3)
}
