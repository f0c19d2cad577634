# METADATA
# title: Base image checks
# description: >-
#   Checks that the image's base images come from allowed registries. Base images are the
#   references in the build tasks' BASE_IMAGES_DIGESTS result (white-space separated) and the
#   parent image of the input (`input.image.parent.ref`); `scratch` is not an data.supply.lib.image.
# custom:
#   rule_data:
#   - allowed_registry_prefixes
package base_image_registries

import rego.v1

# METADATA
# title: Base image comes from permitted registry
# description: Every base image starts with one of the `allowed_registry_prefixes` rule data.
# custom:
#   short_name: base_image_permitted
#   failure_msg: Base image %q is from a disallowed registry
#   solution: Build from a base image of an allowed registry, or add the registry to `allowed_registry_prefixes`.
#   collections:
#   - konflux
#   depends_on:
#   - base_image_registries.base_image_info_found
#   rule_data:
#   - allowed_registry_prefixes
deny contains res if {
	prefixes := data.supply.lib.rule_data.get("allowed_registry_prefixes")
	some ref in _base_images
	not data.supply.lib.image.has_prefix_in(ref, prefixes)
	res := data.supply.lib.result.with_term("base_image_registries.base_image_permitted", "Base image %q is from a disallowed registry", [ref], ref)
}

# METADATA
# title: Base images provided
# description: >-
#   The base images are known: a build task reports BASE_IMAGES_DIGESTS or the input names a
#   parent data.supply.lib.image.
# custom:
#   short_name: base_image_info_found
#   failure_msg: Base images information is missing
#   solution: Use a build task that reports the BASE_IMAGES_DIGESTS data.supply.lib.result.
#   collections:
#   - konflux
deny contains res if {
	count(_base_images) == 0
	not _base_images_reported
	res := data.supply.lib.result.make("base_image_registries.base_image_info_found", "Base images information is missing", [])
}

# METADATA
# title: Allowed base image registry prefixes list was provided
# description: The `allowed_registry_prefixes` rule data is a non-empty list of unique strings.
# custom:
#   short_name: allowed_registries_provided
#   failure_msg: '%s'
#   solution: Provide the allowed registry prefixes in the `allowed_registry_prefixes` rule data.
#   collections:
#   - konflux
#   rule_data:
#   - allowed_registry_prefixes
deny contains res if {
	some e in data.supply.lib.rule_data.string_list_errors("allowed_registry_prefixes")
	res := data.supply.lib.result.with_severity(
		data.supply.lib.result.make("base_image_registries.allowed_registries_provided", "%s", [e.message]),
		e.severity,
	)
}

_reported := {ref |
	some run in data.supply.lib.tekton.runs
	some task in run.build_tasks
	text := data.supply.lib.tekton.result_string(task, "BASE_IMAGES_DIGESTS")
	some ref in regex.split(`\s+`, text)
	ref != ""
}

# A build that reports the result but has only `scratch` base images needs no further info.
_base_images_reported if {
	some run in data.supply.lib.tekton.runs
	some task in run.build_tasks
	"BASE_IMAGES_DIGESTS" in object.keys(task.results)
}

_parent := {ref |
	ref := input.image.parent.ref
	is_string(ref)
	ref != ""
}

_base_images := {ref |
	some ref in (_reported | _parent)
	ref != "scratch"
}
