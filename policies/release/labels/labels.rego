# METADATA
# title: Labels
# description: >-
#   Checks the image labels (`input.image.config.Labels`) against the rule data: required and
#   optional labels (`{name, description}`), deprecated labels (`{name, replacement}`) and labels
#   that must not be inherited unchanged from the parent image (`{name}`).
# custom:
#   rule_data:
#   - required_labels
#   - optional_labels
#   - deprecated_labels
#   - disallowed_inherited_labels
package labels

import rego.v1

# METADATA
# title: Required labels
# description: The image has every label listed in the `required_labels` rule data.
# custom:
#   short_name: required_labels
#   failure_msg: 'The required %q label is missing. Label description: %s'
#   solution: Set the label in the Containerfile (`LABEL name=value`) or with the build task's LABELS parameter.
#   collections:
#   - konflux
#   depends_on:
#   - labels.inaccessible_config
#   rule_data:
#   - required_labels
deny contains res if {
	_has_config
	some entry in _entries("required_labels")
	not entry.name in object.keys(_labels)
	res := data.supply.lib.result.with_term(
		"labels.required_labels",
		"The required %q label is missing. Label description: %s",
		[entry.name, object.get(entry, "description", "")],
		entry.name,
	)
}

# METADATA
# title: Optional labels
# description: Warn when the image lacks a label listed in the `optional_labels` rule data.
# custom:
#   short_name: optional_labels
#   failure_msg: 'The optional %q label is missing. Label description: %s'
#   solution: Set the label in the Containerfile.
#   collections:
#   - konflux
#   depends_on:
#   - labels.inaccessible_config
#   rule_data:
#   - optional_labels
warn contains res if {
	_has_config
	some entry in _entries("optional_labels")
	not entry.name in object.keys(_labels)
	res := data.supply.lib.result.with_term(
		"labels.optional_labels",
		"The optional %q label is missing. Label description: %s",
		[entry.name, object.get(entry, "description", "")],
		entry.name,
	)
}

# METADATA
# title: Deprecated labels
# description: The image has no label listed in the `deprecated_labels` rule data.
# custom:
#   short_name: deprecated_labels
#   failure_msg: The %q label is deprecated, replace with %q
#   solution: Rename the label to its replacement.
#   collections:
#   - konflux
#   depends_on:
#   - labels.inaccessible_config
#   rule_data:
#   - deprecated_labels
deny contains res if {
	some entry in _entries("deprecated_labels")
	entry.name in object.keys(_labels)
	res := data.supply.lib.result.with_term(
		"labels.deprecated_labels",
		"The %q label is deprecated, replace with %q",
		[entry.name, object.get(entry, "replacement", "")],
		entry.name,
	)
}

# METADATA
# title: Disallowed inherited labels
# description: >-
#   No label listed in the `disallowed_inherited_labels` rule data has the same value on the
#   image as on its parent image (`input.image.parent.config.Labels`).
# custom:
#   short_name: disallowed_inherited_labels
#   failure_msg: The %q label should not be inherited from the parent image
#   solution: Set the label to a value that describes this image.
#   collections:
#   - konflux
#   depends_on:
#   - labels.inaccessible_config
#   rule_data:
#   - disallowed_inherited_labels
deny contains res if {
	parent := _parent_labels
	some entry in _entries("disallowed_inherited_labels")
	value := _labels[entry.name]
	parent[entry.name] == value
	res := data.supply.lib.result.with_term(
		"labels.disallowed_inherited_labels",
		"The %q label should not be inherited from the parent image",
		[entry.name],
		entry.name,
	)
}

# METADATA
# title: Inaccessible image config
# description: The input carries the image config (`input.image.config`), so the labels can be checked.
# custom:
#   short_name: inaccessible_config
#   failure_msg: Image config of the image %q is inaccessible
#   solution: Make sure the image config can be read from the registry.
#   collections:
#   - konflux
deny contains res if {
	ref := input.image.ref
	is_string(ref)
	not _has_config
	res := data.supply.lib.result.make("labels.inaccessible_config", "Image config of the image %q is inaccessible", [ref])
}

# METADATA
# title: Rule data provided
# description: >-
#   The label rule data are lists of objects with a string `name` (and string `description` or
#   `replacement` where used).
# custom:
#   short_name: rule_data_provided
#   failure_msg: '%s'
#   solution: Fix the label rule data.
#   collections:
#   - konflux
#   rule_data:
#   - required_labels
#   - optional_labels
#   - deprecated_labels
#   - disallowed_inherited_labels
deny contains res if {
	some message in _rule_data_errors
	res := data.supply.lib.result.with_severity(data.supply.lib.result.make("labels.rule_data_provided", "%s", [message]), "failure")
}

_has_config if is_object(input.image.config)

_labels := labels if {
	labels := input.image.config.Labels
	is_object(labels)
} else := {}

_parent_labels := labels if {
	labels := input.image.parent.config.Labels
	is_object(labels)
}

_keys := {"required_labels", "optional_labels", "deprecated_labels", "disallowed_inherited_labels"}

_entries(key) := [e |
	some e in _list(data.supply.lib.rule_data.get(key))
	is_object(e)
	is_string(e.name)
]

_rule_data_errors contains msg if {
	some key in _keys
	not is_array(data.supply.lib.rule_data.get(key))
	msg := sprintf("Rule data %s has unexpected format: not a list", [key])
}

_rule_data_errors contains msg if {
	some key in _keys
	some i, e in _list(data.supply.lib.rule_data.get(key))
	not _valid_entry(e)
	msg := sprintf("Rule data %s has unexpected format: [%d]: not an object with a string name", [key, i])
}

_valid_entry(e) if {
	is_object(e)
	is_string(e.name)
	every k in {"description", "replacement"} & object.keys(e) {
		is_string(e[k])
	}
}

_list(value) := value if is_array(value)

else := []
