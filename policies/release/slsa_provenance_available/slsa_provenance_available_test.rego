package slsa_provenance_available_test

import rego.v1

import data.slsa_provenance_available
import data.supply.lib.fixtures_test as f

test_v02_accepted if {
	count(slsa_provenance_available.deny) == 0 with input as f.input_v02
}

test_v1_accepted if {
	count(slsa_provenance_available.deny) == 0 with input as f.input_v1
}

test_v1_not_in_rule_data_fails if {
	results := slsa_provenance_available.deny with input as f.input_v1
		with data.rule_data.allowed_predicate_types as ["https://slsa.dev/provenance/v0.2"]
	f.codes(results) == {"slsa_provenance_available.attestation_predicate_type_accepted"}
	some r in results
	r.msg == `Attestation predicate type "https://slsa.dev/provenance/v1" is not an expected type (https://slsa.dev/provenance/v0.2)`
}

test_v02_not_in_rule_data_fails if {
	results := slsa_provenance_available.deny with input as f.input_v02
		with data.rule_data_custom.allowed_predicate_types as ["https://slsa.dev/provenance/v1"]
	f.codes(results) == {"slsa_provenance_available.attestation_predicate_type_accepted"}
}

test_rule_data_not_unique_fails if {
	results := slsa_provenance_available.deny with input as f.input_v02
		with data.rule_data.allowed_predicate_types as ["https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v0.2"]
	f.codes(results) == {"slsa_provenance_available.allowed_predicate_types_provided"}
}

test_rule_data_wrong_type_fails_closed if {
	results := slsa_provenance_available.deny with input as f.input_v02
		with data.rule_data.allowed_predicate_types as {"a": 1}
	"slsa_provenance_available.allowed_predicate_types_provided" in f.codes(results)
	"slsa_provenance_available.attestation_predicate_type_accepted" in f.codes(results)
}

test_no_provenance_no_result if {
	count(slsa_provenance_available.deny) == 0 with input as {"attestations": []}
}

test_rule_data_string_fails_closed if {
	results := slsa_provenance_available.deny with input as f.input_v02
		with data.rule_data.allowed_predicate_types as "https://slsa.dev/provenance/v0.2"
	f.codes(results) == {
		"slsa_provenance_available.allowed_predicate_types_provided",
		"slsa_provenance_available.attestation_predicate_type_accepted",
	}
}
