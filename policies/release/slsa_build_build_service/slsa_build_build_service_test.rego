package slsa_build_build_service_test

import rego.v1

import data.slsa_build_build_service
import data.supply.lib.fixtures_test as f

test_chains_builder_v02_accepted if {
	count(slsa_build_build_service.deny) == 0 with input as f.input_v02
}

test_chains_builder_v1_accepted if {
	count(slsa_build_build_service.deny) == 0 with input as f.input_v1
}

test_unknown_builder_v02_fails if {
	inp := f.with_predicate(f.input_v02, {"builder": {"id": "https://ci.example/builder"}})
	results := slsa_build_build_service.deny with input as inp
	f.codes(results) == {"slsa_build_build_service.slsa_builder_id_accepted"}
	some r in results
	r.msg == `Builder ID "https://ci.example/builder" is unexpected`
}

test_unknown_builder_v1_fails if {
	inp := f.with_predicate(f.input_v1, {"runDetails": {"builder": {"id": "https://ci.example/builder"}}})
	f.codes(slsa_build_build_service.deny) == {"slsa_build_build_service.slsa_builder_id_accepted"} with input as inp
}

test_builder_from_ecp_rule_data if {
	inp := f.with_predicate(f.input_v02, {"builder": {"id": "https://ci.example/builder"}})
	count(slsa_build_build_service.deny) == 0 with input as inp
		with data.rule_data__configuration__.allowed_builder_ids as ["https://ci.example/builder"]
}

test_missing_builder_fails if {
	inp := f.set_predicate_key(f.input_v02, "builder", {})
	f.codes(slsa_build_build_service.deny) == {"slsa_build_build_service.slsa_builder_id_found"} with input as inp
}

test_builder_of_wrong_type_fails if {
	inp := f.set_predicate_key(f.input_v1, "runDetails", {"builder": {"id": 7}})
	f.codes(slsa_build_build_service.deny) == {"slsa_build_build_service.slsa_builder_id_found"} with input as inp
}

test_rule_data_missing_fails_closed if {
	results := slsa_build_build_service.deny with input as f.input_v02 with data.rule_data.allowed_builder_ids as []
	f.codes(results) == {
		"slsa_build_build_service.allowed_builder_ids_provided",
		"slsa_build_build_service.slsa_builder_id_accepted",
	}
}
