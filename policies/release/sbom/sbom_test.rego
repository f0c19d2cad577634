package sbom_test

import rego.v1

import data.sbom
import data.supply.lib.fixtures_test as f

test_cyclonedx_attestation_found if {
	count(sbom.deny) == 0 with input as f.input_with_sboms
}

test_spdx_attestation_found if {
	inp := {"attestations": [f.spdx_attestation([])]}
	count(sbom.deny) == 0 with input as inp
}

test_cyclonedx_by_bom_format if {
	att := f.cyclonedx_attestation([])
	inp := {"attestations": [{"statement": object.union(att.statement, {"predicateType": "https://example.com/custom"})}]}
	count(sbom.deny) == 0 with input as inp
}

test_no_sbom_fails if {
	f.codes(sbom.deny) == {"sbom.found"} with input as f.input_v02
}

test_sbom_blob_url_alone_is_not_an_sbom if {
	results := {"SBOM_BLOB_URL": sprintf("%s@%s", [f.image_repo, f.digest_a])}
	build := f.task_v02("build", "buildah", f.bundle("buildah", f.digest_b), object.union(f.results_build, results))
	f.codes(sbom.deny) == {"sbom.found"} with input as {"attestations": [f.att_v02([build])]}
}

test_bad_rule_data_fails if {
	bad := [{"purl": "not-a-purl"}, {"purl": "pkg:golang/k8s.io/client-go", "min": "one"}, "x"]
	results := sbom.deny with input as f.input_with_sboms with data.rule_data.disallowed_packages as bad
	f.codes(results) == {"sbom.disallowed_packages_provided"}
	{r.msg | some r in results} == {
		"Rule data disallowed_packages has unexpected format: [0]: purl is not a package URL",
		"Rule data disallowed_packages has unexpected format: [1]: min is not a semantic version",
		"Rule data disallowed_packages has unexpected format: [2]: not an object",
	}
}

test_rule_data_of_wrong_type_fails if {
	results := sbom.deny with input as f.input_with_sboms with data.rule_data.disallowed_attributes as {"name": "x"}
	{r.msg | some r in results} == {"Rule data disallowed_attributes has unexpected format: not a list"}
}
