package attestation_type_test

import rego.v1

import data.attestation_type
import data.supply.lib.fixtures_test as f

test_v02_provenance_passes if {
	count(attestation_type.deny) == 0 with input as f.input_v02
}

test_v1_provenance_passes if {
	count(attestation_type.deny) == 0 with input as f.input_v1
}

test_unknown_statement_type_fails if {
	att := f.att_v02(f.standard_tasks_v02)
	bad := {"attestations": [{"statement": object.union(att.statement, {"_type": "https://example.com/Statement"})}]}
	results := attestation_type.deny with input as bad
	f.codes(results) == {"attestation_type.known_attestation_type"}
	some r in results
	r.msg == "Unknown attestation type 'https://example.com/Statement'"
	r.effective_on == "2022-01-01T00:00:00Z"
}

test_known_types_from_rule_data if {
	results := attestation_type.deny with input as f.input_v02
		with data.rule_data.known_attestation_types as ["https://in-toto.io/Statement/v1"]
	f.codes(results) == {"attestation_type.known_attestation_type"}
}

test_missing_provenance_fails if {
	results := attestation_type.deny with input as {"attestations": []}
	f.codes(results) == {"attestation_type.pipelinerun_attestation_found"}
}

test_missing_attestations_key_fails if {
	f.codes(attestation_type.deny) == {"attestation_type.pipelinerun_attestation_found"} with input as {}
}

test_attestations_of_wrong_type_fail_closed if {
	f.codes(attestation_type.deny) == {"attestation_type.pipelinerun_attestation_found"} with input as {"attestations": "x"}
}

test_taskrun_provenance_is_not_a_pipelinerun if {
	att := f.att_v02([])
	taskrun := {"statement": object.union(att.statement, {"predicate": object.union(att.statement.predicate, {"buildType": "tekton.dev/v1beta1/TaskRun"})})}
	f.codes(attestation_type.deny) == {"attestation_type.pipelinerun_attestation_found"} with input as {"attestations": [taskrun]}
}

test_v1_taskrun_provenance_is_not_a_pipelinerun if {
	inp := f.set_predicate_key(f.input_v1, "buildDefinition", {
		"buildType": "https://tekton.dev/chains/v2/slsa",
		"externalParameters": {"runSpec": {"taskRef": {"name": "build"}}},
	})
	f.codes(attestation_type.deny) == {"attestation_type.pipelinerun_attestation_found"} with input as inp
}

test_deprecated_format_fails if {
	inp := {"attestations": array.concat(f.input_v02.attestations, [{"_type": "https://in-toto.io/Statement/v0.1"}])}
	results := attestation_type.deny with input as inp
	f.codes(results) == {"attestation_type.deprecated_policy_attestation_format"}
	some r in results
	r.effective_on == "2023-08-31T00:00:00Z"
}

test_rule_data_empty_list_fails if {
	results := attestation_type.deny with input as f.input_v02 with data.rule_data.known_attestation_types as []
	"attestation_type.known_attestation_types_provided" in f.codes(results)
	some r in results
	r.code == "attestation_type.known_attestation_types_provided"
	r.msg == "Rule data known_attestation_types has unexpected format: the list is empty"
	r.severity == "failure"
}

test_rule_data_wrong_type_fails if {
	results := attestation_type.deny with input as f.input_v02 with data.rule_data.known_attestation_types as "https://in-toto.io/Statement/v0.1"
	"attestation_type.known_attestation_types_provided" in f.codes(results)
}

test_rule_data_precedence if {
	# rule_data__configuration__ (the ECP ruleData) wins over rule_data_custom and rule_data
	results := attestation_type.deny with input as f.input_v02
		with data.rule_data as {"known_attestation_types": ["x"]}
		with data.rule_data_custom as {"known_attestation_types": ["y"]}
		with data.rule_data__configuration__ as {"known_attestation_types": ["https://in-toto.io/Statement/v0.1"]}
	count(results) == 0
}

test_build_types_of_wrong_type_find_no_provenance if {
	f.codes(attestation_type.deny) == {"attestation_type.pipelinerun_attestation_found"} with input as f.input_v02
		with data.rule_data.allowed_provenance_build_types as "tekton.dev/v1beta1/PipelineRun"
}
