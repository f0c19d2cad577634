package base_image_registries_test

import rego.v1

import data.base_image_registries
import data.supply.lib.fixtures_test as f

_prefixes := ["registry.access.redhat.com/", "registry.example/"]

_with_bases(bases) := {"attestations": [f.att_v02([
	f.standard_tasks_v02[0],
	f.task_v02("build", "buildah", f.bundle("buildah", f.digest_b), object.union(f.results_build, {"BASE_IMAGES_DIGESTS": bases})),
])]}

_with_bases_v1(bases) := {"attestations": [f.att_v1([
	f.standard_taskruns[0],
	f.taskrun("build", "buildah", f.bundle("buildah", f.digest_b), object.union(f.results_build, {"BASE_IMAGES_DIGESTS": bases})),
])]}

test_permitted_v02 if {
	bases := sprintf("registry.access.redhat.com/ubi9/ubi:9.5@%s\nregistry.example/builder@%s\n", [f.digest_a, f.digest_b])
	count(base_image_registries.deny) == 0 with input as _with_bases(bases) with data.rule_data.allowed_registry_prefixes as _prefixes
}

test_disallowed_v02 if {
	bases := sprintf("docker.io/library/alpine:3@%s", [f.digest_a])
	results := base_image_registries.deny with input as _with_bases(bases) with data.rule_data.allowed_registry_prefixes as _prefixes
	f.codes(results) == {"base_image_registries.base_image_permitted"}
	some r in results
	r.msg == sprintf(`Base image "docker.io/library/alpine:3@%s" is from a disallowed registry`, [f.digest_a])
}

test_disallowed_v1 if {
	bases := sprintf("docker.io/library/alpine:3@%s", [f.digest_a])
	f.codes(base_image_registries.deny) == {"base_image_registries.base_image_permitted"} with input as _with_bases_v1(bases)
		with data.rule_data.allowed_registry_prefixes as _prefixes
}

test_parent_image_checked if {
	inp := object.union(f.input_v02, {"image": {"parent": {"ref": "quay.io/other/base@sha256:00"}}})
	results := base_image_registries.deny with input as inp with data.rule_data.allowed_registry_prefixes as _prefixes
	f.codes(results) == {"base_image_registries.base_image_permitted"}
}

test_scratch_only_build if {
	count(base_image_registries.deny) == 0 with input as _with_bases("scratch") with data.rule_data.allowed_registry_prefixes as _prefixes
}

test_no_base_image_info_fails if {
	f.codes(base_image_registries.deny) == {"base_image_registries.base_image_info_found"} with input as f.input_v02
		with data.rule_data.allowed_registry_prefixes as _prefixes
}

test_missing_prefixes_fail_closed if {
	bases := sprintf("registry.example/builder@%s", [f.digest_b])
	results := base_image_registries.deny with input as _with_bases(bases)
	f.codes(results) == {"base_image_registries.allowed_registries_provided", "base_image_registries.base_image_permitted"}
}

test_prefixes_of_wrong_type_fail_closed if {
	bases := sprintf("registry.example/builder@%s", [f.digest_b])
	results := base_image_registries.deny with input as _with_bases(bases) with data.rule_data.allowed_registry_prefixes as "registry.example/"
	"base_image_registries.allowed_registries_provided" in f.codes(results)
}
