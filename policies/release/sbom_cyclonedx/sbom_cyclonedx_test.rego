package sbom_cyclonedx_test

import rego.v1

import data.sbom_cyclonedx
import data.supply.lib.fixtures_test as f

_input(components) := {"attestations": [f.cyclonedx_attestation(components)]}

test_no_rule_data_allows_everything if {
	count(sbom_cyclonedx.deny) == 0 with input as f.input_with_sboms
}

test_disallowed_package_any_version if {
	results := sbom_cyclonedx.deny with input as f.input_with_sboms
		with data.rule_data.disallowed_packages as [{"purl": "pkg:golang/k8s.io/client-go"}]
	f.codes(results) == {"sbom_cyclonedx.allowed"}
	some r in results
	r.msg == "Package is not allowed: pkg:golang/k8s.io/client-go@v0.28.3"
	r.term == "pkg:golang/k8s.io/client-go@v0.28.3"
}

test_version_range if {
	comps := [f.component("pkg:golang/k8s.io/client-go@v0.28.3", []), f.component("pkg:golang/k8s.io/client-go@v0.30.0", [])]
	rd := [{"purl": "pkg:golang/k8s.io/client-go", "format": "semverv", "min": "v0.29.0"}]
	results := sbom_cyclonedx.deny with input as _input(comps) with data.rule_data.disallowed_packages as rd
	{r.term | some r in results} == {"pkg:golang/k8s.io/client-go@v0.30.0"}
	rd_max := [{"purl": "pkg:golang/k8s.io/client-go", "format": "semverv", "max": "v0.29.0"}]
	results_max := sbom_cyclonedx.deny with input as _input(comps) with data.rule_data.disallowed_packages as rd_max
	{r.term | some r in results_max} == {"pkg:golang/k8s.io/client-go@v0.28.3"}
}

test_unparsable_version_is_not_in_a_range if {
	comps := [f.component("pkg:golang/k8s.io/client-go@main", [])]
	rd := [{"purl": "pkg:golang/k8s.io/client-go", "min": "v0.1.0"}]
	count(sbom_cyclonedx.deny) == 0 with input as _input(comps) with data.rule_data.disallowed_packages as rd
}

test_percent_encoded_namespace_matches if {
	comps := [f.component("pkg:npm/%40babel/core@7.29.0", [])]
	rd := [{"purl": "pkg:npm/@babel/core"}]
	f.codes(sbom_cyclonedx.deny) == {"sbom_cyclonedx.allowed"} with input as _input(comps) with data.rule_data.disallowed_packages as rd
}

test_exception_by_subpath if {
	comps := [f.component("pkg:golang/k8s.io/client-go@v0.28.3#tools", [])]
	rd := [{"purl": "pkg:golang/k8s.io/client-go", "exceptions": [{"subpath": "tools"}]}]
	count(sbom_cyclonedx.deny) == 0 with input as _input(comps) with data.rule_data.disallowed_packages as rd
}

test_other_package_allowed if {
	comps := [f.component("pkg:golang/k8s.io/api@v0.28.3", [])]
	rd := [{"purl": "pkg:golang/k8s.io/client-go"}]
	count(sbom_cyclonedx.deny) == 0 with input as _input(comps) with data.rule_data.disallowed_packages as rd
}

test_nested_component_checked if {
	parent := object.union(f.component("pkg:oci/app@sha256%3Aab", []), {"components": [f.component("pkg:pypi/requests@2.0.0", [])]})
	rd := [{"purl": "pkg:pypi/requests"}]
	f.codes(sbom_cyclonedx.deny) == {"sbom_cyclonedx.allowed"} with input as _input([parent]) with data.rule_data.disallowed_packages as rd
}

test_disallowed_attribute if {
	comps := [f.component("pkg:npm/left-pad@1.0.0", [{"name": "hermeto:found_by", "value": "hermeto"}])]
	results := sbom_cyclonedx.deny with input as _input(comps)
		with data.rule_data.disallowed_attributes as [{"name": "hermeto:found_by", "value": "hermeto"}]
	f.codes(results) == {"sbom_cyclonedx.disallowed_package_attributes"}
	some r in results
	r.msg == `Package pkg:npm/left-pad@1.0.0 has the attribute "hermeto:found_by" set: "hermeto"`
	r.effective_on == "2024-07-31T00:00:00Z"
}

test_attribute_other_value_allowed if {
	comps := [f.component("pkg:npm/left-pad@1.0.0", [{"name": "hermeto:found_by", "value": "syft"}])]
	count(sbom_cyclonedx.deny) == 0 with input as _input(comps)
		with data.rule_data.disallowed_attributes as [{"name": "hermeto:found_by", "value": "hermeto"}]
}

test_attribute_without_value_matches_any if {
	comps := [f.component("pkg:npm/left-pad@1.0.0", [{"name": "hermeto:found_by", "value": "syft"}])]
	results := sbom_cyclonedx.deny with input as _input(comps) with data.rule_data.disallowed_attributes as [{"name": "hermeto:found_by"}]
	some r in results
	r.msg == `Package pkg:npm/left-pad@1.0.0 has the attribute "hermeto:found_by" set`
}

test_future_attribute_rule_not_yet_applied if {
	comps := [f.component("pkg:npm/left-pad@1.0.0", [{"name": "x", "value": "y"}])]
	count(sbom_cyclonedx.deny) == 0 with input as _input(comps)
		with data.rule_data.disallowed_attributes as [{"name": "x", "effective_on": "2099-01-01T00:00:00Z"}]
}

test_components_of_wrong_type_ignored if {
	att := f.cyclonedx_attestation([])
	inp := {"attestations": [{"statement": object.union(att.statement, {"predicate": {"bomFormat": "CycloneDX", "components": "x"}})}]}
	count(sbom_cyclonedx.deny) == 0 with input as inp with data.rule_data.disallowed_packages as [{"purl": "pkg:npm/x"}]
}
