package slsa_source_version_controlled_test

import rego.v1

import data.slsa_source_version_controlled
import data.supply.lib.fixtures_test as f

test_v02_git_material_passes if {
	count(slsa_source_version_controlled.deny) == 0 with input as f.input_v02
}

test_v1_git_dependency_passes if {
	count(slsa_source_version_controlled.deny) == 0 with input as f.input_v1
}

test_no_materials_fails if {
	inp := f.set_predicate_key(f.input_v02, "materials", [])
	f.codes(slsa_source_version_controlled.deny) == {"slsa_source_version_controlled.materials_format_okay"} with input as inp
}

test_materials_of_wrong_type_fail if {
	inp := f.set_predicate_key(f.input_v02, "materials", {"uri": "git+https://x"})
	f.codes(slsa_source_version_controlled.deny) == {"slsa_source_version_controlled.materials_format_okay"} with input as inp
}

test_commit_from_non_git_uri_fails if {
	inp := f.set_predicate_key(f.input_v02, "materials", [{"uri": "https://example.com/app.tar.gz", "digest": {"sha1": f.commit}}])
	results := slsa_source_version_controlled.deny with input as inp
	f.codes(results) == {"slsa_source_version_controlled.materials_uri_is_git_repo"}
	some r in results
	r.msg == `Material URI "https://example.com/app.tar.gz" is not a git URI`
}

test_git_material_without_commit_fails if {
	inp := f.set_predicate_key(f.input_v02, "materials", [{"uri": "git+https://git.example.com/team-a/app.git", "digest": {"sha1": "main"}}])
	results := slsa_source_version_controlled.deny with input as inp
	f.codes(results) == {"slsa_source_version_controlled.materials_include_git_sha"}
	some r in results
	r.msg == `Material digest "sha1:main" is not a git commit sha`
}

test_v1_git_dependency_without_commit_fails if {
	bd := object.union(f.input_v1.attestations[0].statement.predicate.buildDefinition, {"resolvedDependencies": [{"uri": "git+https://git.example.com/team-a/app.git", "digest": {"sha256": substring(f.digest_a, 7, -1)}}]})
	inp := f.set_predicate_key(f.input_v1, "buildDefinition", bd)
	f.codes(slsa_source_version_controlled.deny) == {"slsa_source_version_controlled.materials_include_git_sha"} with input as inp
}
