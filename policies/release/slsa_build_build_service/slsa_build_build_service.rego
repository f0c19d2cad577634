# METADATA
# title: SLSA - Build - Build Service
# description: Checks that the provenance names a build service (builder id) that is accepted.
# custom:
#   rule_data:
#   - allowed_builder_ids
package slsa_build_build_service

import rego.v1

# METADATA
# title: SLSA Builder ID found
# description: >-
#   Every PipelineRun attestation names its builder: `predicate.builder.id` (SLSA v0.2) or
#   `predicate.runDetails.builder.id` (SLSA v1.0), a non-empty string.
# custom:
#   short_name: slsa_builder_id_found
#   failure_msg: Builder ID not set in attestation
#   solution: Make sure the build system records its builder id in the provenance.
#   collections:
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some att in data.supply.lib.attestations.pipelinerun_attestations
	not _builder_id(att)
	res := data.supply.lib.result.make("slsa_build_build_service.slsa_builder_id_found", "Builder ID not set in attestation", [])
}

# METADATA
# title: SLSA Builder ID is known and accepted
# description: >-
#   The builder id of every PipelineRun attestation is listed in the `allowed_builder_ids` rule
#   data (default `https://tekton.dev/chains/v2`).
# custom:
#   short_name: slsa_builder_id_accepted
#   failure_msg: Builder ID %q is unexpected
#   solution: >-
#     Build on an accepted build service, or add its builder id to the `allowed_builder_ids`
#     rule data.
#   collections:
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
#   rule_data:
#   - allowed_builder_ids
deny contains res if {
	allowed := data.supply.lib.rule_data.list("allowed_builder_ids")
	some att in data.supply.lib.attestations.pipelinerun_attestations
	builder_id := _builder_id(att)
	not builder_id in allowed
	res := data.supply.lib.result.make("slsa_build_build_service.slsa_builder_id_accepted", "Builder ID %q is unexpected", [builder_id])
}

# METADATA
# title: Allowed builder IDs provided
# description: The `allowed_builder_ids` rule data is a non-empty list of unique strings.
# custom:
#   short_name: allowed_builder_ids_provided
#   failure_msg: '%s'
#   solution: Provide the accepted builder ids in the `allowed_builder_ids` rule data.
#   collections:
#   - slsa3
#   - konflux
#   rule_data:
#   - allowed_builder_ids
deny contains res if {
	some e in data.supply.lib.rule_data.string_list_errors("allowed_builder_ids")
	res := data.supply.lib.result.with_severity(
		data.supply.lib.result.make("slsa_build_build_service.allowed_builder_ids_provided", "%s", [e.message]),
		e.severity,
	)
}

_builder_id(att) := id if {
	id := data.supply.lib.attestations.builder_id(att)
	is_string(id)
	id != ""
}
