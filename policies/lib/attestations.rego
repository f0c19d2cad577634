# METADATA
# title: Attestations
# description: >-
#   The attestations of the input, and the SLSA provenance of the build PipelineRun in both
#   shapes Chains writes: SLSA v0.2 (`predicate.buildType`, `predicate.builder.id`,
#   `predicate.materials`) and SLSA v1.0 (`predicate.buildDefinition`, `predicate.runDetails`).
package supply.lib.attestations

import rego.v1

slsa_v02 := "https://slsa.dev/provenance/v0.2"

slsa_v1 := "https://slsa.dev/provenance/v1"

cyclonedx := "https://cyclonedx.org/bom"

spdx := "https://spdx.dev/Document"

# input.attestations when it is a list, else [].
all := atts if {
	atts := input.attestations
	is_array(atts)
} else := []

# The statements of all attestations that carry one as an object.
statements := [att.statement |
	some att in all
	is_object(att)
	is_object(att.statement)
]

# Attestations that are SLSA provenance of a Tekton PipelineRun (v0.2 or v1.0).
pipelinerun_attestations := array.concat(v02_pipelinerun_attestations, v1_pipelinerun_attestations)

v02_pipelinerun_attestations := [att |
	some att in all
	att.statement.predicateType == slsa_v02
	att.statement.predicate.buildType in _build_types
]

v1_pipelinerun_attestations := [att |
	some att in all
	att.statement.predicateType == slsa_v1
	att.statement.predicate.buildDefinition.buildType in _build_types
	not _is_taskrun_v1(att)
]

_build_types := {t | some t in data.supply.lib.rule_data.list("allowed_provenance_build_types")}

# A v1.0 TaskRun provenance has a runSpec with neither pipelineRef nor pipelineSpec.
_is_taskrun_v1(att) if {
	run_spec := att.statement.predicate.buildDefinition.externalParameters.runSpec
	is_object(run_spec)
	not "pipelineRef" in object.keys(run_spec)
	not "pipelineSpec" in object.keys(run_spec)
}

# True when att is SLSA v1.0 provenance.
is_v1(att) if att.statement.predicateType == slsa_v1

# The builder id of a provenance attestation (v0.2 or v1.0); undefined when missing.
builder_id(att) := id if {
	id := att.statement.predicate.builder.id
	not is_v1(att)
} else := id if {
	id := att.statement.predicate.runDetails.builder.id
	is_v1(att)
}

# The materials of a provenance attestation as [{"uri", "digest"}]: v0.2 `materials`,
# v1.0 `buildDefinition.resolvedDependencies`. Entries that are not objects are dropped.
materials(att) := [m |
	some m in _list(att.statement.predicate.materials)
	is_object(m)
] if {
	not is_v1(att)
} else := [m |
	some m in _list(att.statement.predicate.buildDefinition.resolvedDependencies)
	is_object(m)
]

# Labels of the PipelineRun (v0.2 invocation environment; v1.0 slsa-tekton internalParameters).
pipelinerun_labels(att) := labels if {
	labels := att.statement.predicate.invocation.environment.labels
	is_object(labels)
} else := labels if {
	labels := att.statement.predicate.buildDefinition.internalParameters.labels
	is_object(labels)
} else := {}

# The subjects of an attestation's statement ([] when missing).
subjects(att) := value if {
	value := object.get(att, ["statement", "subject"], null)
	is_array(value)
} else := []

_list(value) := value if is_array(value)

else := []

# SBOM documents found in the input: CycloneDX and SPDX statements' predicates.
cyclonedx_sboms := [s.predicate |
	some s in statements
	_is_cyclonedx(s)
	is_object(s.predicate)
]

spdx_sboms := [s.predicate |
	some s in statements
	s.predicateType == spdx
	is_object(s.predicate)
]

_is_cyclonedx(s) if s.predicateType == cyclonedx

_is_cyclonedx(s) if {
	s.predicateType != cyclonedx
	s.predicate.bomFormat == "CycloneDX"
}
