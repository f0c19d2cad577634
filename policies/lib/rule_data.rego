# METADATA
# title: Rule data
# description: >-
#   Read rule data with Conforma's precedence: the ECP source's `ruleData`
#   (`data.rule_data__configuration__`), then `data.rule_data_custom`, then `data.rule_data`,
#   then the defaults below, then an empty list.
package supply.lib.rule_data

import rego.v1

# Built-in defaults. Every key a rule reads is listed here (documented in docs/policies.md).
defaults := {
	# attestation_type
	"known_attestation_types": ["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"],
	# slsa_provenance_available
	"allowed_predicate_types": ["https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"],
	# slsa_build_build_service
	"allowed_builder_ids": ["https://tekton.dev/chains/v2"],
	# which provenance counts as a PipelineRun's (SLSA v0.2 buildType, SLSA v1 buildDefinition.buildType)
	"allowed_provenance_build_types": [
		"tekton.dev/v1/PipelineRun",
		"tekton.dev/v1beta1/PipelineRun",
		"https://tekton.dev/attestations/chains/pipelinerun@v2",
		"https://tekton.dev/chains/v2/slsa",
		"https://tekton.dev/chains/v2/slsa-tekton",
	],
	# cve: levels are critical, high, medium, low, unknown
	"restrict_cve_security_levels": ["critical", "high"],
	"warn_cve_security_levels": [],
	"restrict_unpatched_cve_security_levels": [],
	"warn_unpatched_cve_security_levels": ["critical", "high"],
	"cve_leeway": {"critical": 0, "high": 0, "medium": 0, "low": 0, "unknown": 0},
	# trusted_task: extra trusted tasks merged over data.trusted_tasks
	"trusted_tasks": {},
	"task_expiry_warning_days": 0,
	# sbom, sbom_cyclonedx, sbom_spdx
	"disallowed_packages": [],
	"disallowed_attributes": [],
	# labels
	"required_labels": [],
	"optional_labels": [],
	"deprecated_labels": [],
	"disallowed_inherited_labels": [],
}

# The value of rule data `key_name` (see the package description for the precedence).
get(key_name) := value if {
	value := data.rule_data__configuration__[key_name]
} else := value if {
	value := data.rule_data_custom[key_name]
} else := value if {
	value := data.rule_data[key_name]
} else := value if {
	value := defaults[key_name]
} else := []

# The value of rule data `key_name` when it is a list, else [] (so a rule fails closed on a
# value of the wrong type; the rule-data checks report the type).
list(key_name) := value if {
	value := get(key_name)
	is_array(value)
} else := []

# Errors (objects with message and severity) when rule data `key` is not a non-empty list of
# unique strings.
string_list_errors(key) := {e |
	value := get(key)
	some message in _string_list_problems(value)
	e := {"message": sprintf("Rule data %s has unexpected format: %s", [key, message]), "severity": "failure"}
}

_string_list_problems(value) := {"not a list"} if {
	not is_array(value)
} else := {"the list is empty"} if {
	count(value) == 0
} else := problems if {
	problems := {sprintf("item %d is not a string", [i]) |
		some i, item in value
		not is_string(item)
	} | {"items are not unique" | count({x | some x in value}) != count(value)}
}
