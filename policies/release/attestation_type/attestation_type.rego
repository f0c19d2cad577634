# METADATA
# title: Attestation type
# description: >-
#   Checks that the image has a PipelineRun provenance attestation and that its in-toto
#   statement type is a known one.
# custom:
#   rule_data:
#   - known_attestation_types
#   - allowed_provenance_build_types
package attestation_type

import rego.v1

# METADATA
# title: Known attestation type found
# description: >-
#   The in-toto statement `_type` of every PipelineRun attestation is listed in the
#   `known_attestation_types` rule data.
# custom:
#   short_name: known_attestation_type
#   failure_msg: Unknown attestation type '%s'
#   solution: >-
#     Attest the build with a supported in-toto statement type, or add the type to the
#     `known_attestation_types` rule data.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.pipelinerun_attestation_found
#   rule_data:
#   - known_attestation_types
deny contains res if {
	known := data.supply.lib.rule_data.list("known_attestation_types")
	some att in data.supply.lib.attestations.pipelinerun_attestations
	att_type := object.get(att.statement, "_type", "")
	not att_type in known
	res := data.supply.lib.result.make("attestation_type.known_attestation_type", "Unknown attestation type '%s'", [att_type])
}

# METADATA
# title: Known attestation types provided
# description: The `known_attestation_types` rule data is a non-empty list of unique strings.
# custom:
#   short_name: known_attestation_types_provided
#   failure_msg: '%s'
#   solution: Provide a list of known in-toto statement types in the `known_attestation_types` rule data.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   rule_data:
#   - known_attestation_types
deny contains res if {
	some e in data.supply.lib.rule_data.string_list_errors("known_attestation_types")
	res := data.supply.lib.result.with_severity(
		data.supply.lib.result.make("attestation_type.known_attestation_types_provided", "%s", [e.message]),
		e.severity,
	)
}

# METADATA
# title: PipelineRun attestation found
# description: >-
#   At least one attestation is SLSA provenance (v0.2 or v1.0) of a Tekton PipelineRun whose
#   build type is listed in the `allowed_provenance_build_types` rule data.
# custom:
#   short_name: pipelinerun_attestation_found
#   failure_msg: Missing pipelinerun attestation
#   solution: >-
#     Make sure the image was built by a Tekton PipelineRun and that Tekton Chains attested it
#     (SLSA v0.2 `in-toto`/`slsa/v1` format or SLSA v1.0 `slsa/v2alpha*` format).
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   rule_data:
#   - allowed_provenance_build_types
deny contains res if {
	count(data.supply.lib.attestations.pipelinerun_attestations) == 0
	res := data.supply.lib.result.make("attestation_type.pipelinerun_attestation_found", "Missing pipelinerun attestation", [])
}

# METADATA
# title: Deprecated policy attestation format
# description: >-
#   Every attestation of the input carries its in-toto statement under `statement`, the format
#   the CLI writes since Conforma 0.1.
# custom:
#   short_name: deprecated_policy_attestation_format
#   failure_msg: Deprecated policy attestation format found
#   solution: Produce the policy input with a current version of the CLI.
#   collections:
#   - minimal
#   - konflux
#   effective_on: 2023-08-31T00:00:00Z
deny contains res if {
	some att in data.supply.lib.attestations.all
	not _has_statement(att)
	res := data.supply.lib.result.dated(
		"attestation_type.deprecated_policy_attestation_format",
		"Deprecated policy attestation format found",
		[],
		"2023-08-31T00:00:00Z",
	)
}

_has_statement(att) if {
	is_object(att)
	is_object(att.statement)
}
