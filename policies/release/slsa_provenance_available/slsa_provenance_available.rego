# METADATA
# title: SLSA - Provenance - Available
# description: Checks that the build provenance uses an accepted SLSA provenance predicate type.
# custom:
#   rule_data:
#   - allowed_predicate_types
package slsa_provenance_available

import rego.v1

# METADATA
# title: Expected attestation predicate type found
# description: >-
#   The `predicateType` of every PipelineRun attestation is listed in the
#   `allowed_predicate_types` rule data.
# custom:
#   short_name: attestation_predicate_type_accepted
#   failure_msg: Attestation predicate type %q is not an expected type (%s)
#   solution: >-
#     Configure Tekton Chains to produce an accepted SLSA provenance format, or add the predicate
#     type to the `allowed_predicate_types` rule data.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
#   rule_data:
#   - allowed_predicate_types
deny contains res if {
	allowed := data.supply.lib.rule_data.list("allowed_predicate_types")
	some att in data.supply.lib.attestations.pipelinerun_attestations
	not att.statement.predicateType in allowed
	res := data.supply.lib.result.make(
		"slsa_provenance_available.attestation_predicate_type_accepted",
		"Attestation predicate type %q is not an expected type (%s)",
		[att.statement.predicateType, concat(", ", [t | some t in allowed; is_string(t)])],
	)
}

# METADATA
# title: Allowed predicate types provided
# description: The `allowed_predicate_types` rule data is a non-empty list of unique strings.
# custom:
#   short_name: allowed_predicate_types_provided
#   failure_msg: '%s'
#   solution: Provide a list of accepted predicate types in the `allowed_predicate_types` rule data.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   rule_data:
#   - allowed_predicate_types
deny contains res if {
	some e in data.supply.lib.rule_data.string_list_errors("allowed_predicate_types")
	res := data.supply.lib.result.with_severity(
		data.supply.lib.result.make("slsa_provenance_available.allowed_predicate_types_provided", "%s", [e.message]),
		e.severity,
	)
}
