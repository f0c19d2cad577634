package sbom_spdx_test

import rego.v1

import data.sbom_spdx
import data.supply.lib.fixtures_test as f

_input(packages) := {"attestations": [f.spdx_attestation(packages)]}

test_no_rule_data_allows_everything if {
	count(sbom_spdx.deny) == 0 with input as f.input_with_sboms
}

test_disallowed_package if {
	results := sbom_spdx.deny with input as f.input_with_sboms with data.rule_data.disallowed_packages as [{"purl": "pkg:npm/@babel/core", "min": "7.0.0"}]
	f.codes(results) == {"sbom_spdx.allowed"}
	some r in results
	r.msg == "Package is not allowed: pkg:npm/%40babel/core@7.29.0"
}

test_version_below_min_allowed if {
	count(sbom_spdx.deny) == 0 with input as f.input_with_sboms with data.rule_data.disallowed_packages as [{"purl": "pkg:npm/@babel/core", "min": "8.0.0"}]
}

test_disallowed_attribute if {
	pkgs := [f.spdx_package("pkg:npm/left-pad@1.0.0", [{"name": "hermeto:found_by", "value": "hermeto"}])]
	results := sbom_spdx.deny with input as _input(pkgs) with data.rule_data.disallowed_attributes as [{"name": "hermeto:found_by"}]
	f.codes(results) == {"sbom_spdx.disallowed_package_attributes"}
	some r in results
	r.msg == `Package pkg:npm/left-pad@1.0.0 has the attribute "hermeto:found_by" set`
}

test_non_json_annotation_ignored if {
	pkg := object.union(f.spdx_package("pkg:npm/left-pad@1.0.0", []), {"annotations": [{"comment": "hermeto:found_by"}]})
	count(sbom_spdx.deny) == 0 with input as _input([pkg]) with data.rule_data.disallowed_attributes as [{"name": "hermeto:found_by"}]
}
