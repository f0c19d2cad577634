package labels_test

import rego.v1

import data.labels
import data.supply.lib.fixtures_test as f

_rule_data := {
	"required_labels": [{"name": "name", "description": "Name of the image."}, {"name": "vendor", "description": "Vendor."}],
	"optional_labels": [{"name": "maintainer", "description": "Who maintains it."}],
	"deprecated_labels": [{"name": "Name", "replacement": "name"}],
	"disallowed_inherited_labels": [{"name": "description"}],
}

_input(image_labels, parent_labels) := {"image": {
	"ref": "registry.example/team-a/app@sha256:00",
	"config": {"Labels": image_labels},
	"parent": {"ref": "registry.example/base@sha256:11", "config": {"Labels": parent_labels}},
}}

_good := {"name": "app", "vendor": "Example", "maintainer": "team-a", "description": "The app"}

test_good_labels_pass if {
	count(labels.deny) == 0 with input as _input(_good, {"description": "The base"}) with data.rule_data as _rule_data
	count(labels.warn) == 0 with input as _input(_good, {"description": "The base"}) with data.rule_data as _rule_data
}

test_missing_required_label_fails if {
	results := labels.deny with input as _input({"name": "app"}, {}) with data.rule_data as _rule_data
	f.codes(results) == {"labels.required_labels"}
	some r in results
	r.msg == `The required "vendor" label is missing. Label description: Vendor.`
	r.term == "vendor"
}

test_missing_optional_label_warns if {
	results := labels.warn with input as _input({"name": "app", "vendor": "x"}, {}) with data.rule_data as _rule_data
	f.codes(results) == {"labels.optional_labels"}
}

test_deprecated_label_fails if {
	results := labels.deny with input as _input(object.union(_good, {"Name": "app"}), {}) with data.rule_data as _rule_data
	f.codes(results) == {"labels.deprecated_labels"}
	some r in results
	r.msg == `The "Name" label is deprecated, replace with "name"`
}

test_inherited_label_fails if {
	results := labels.deny with input as _input(_good, {"description": "The app"}) with data.rule_data as _rule_data
	f.codes(results) == {"labels.disallowed_inherited_labels"}
}

test_no_parent_no_inheritance_check if {
	inp := {"image": {"ref": "registry.example/team-a/app@sha256:00", "config": {"Labels": _good}}}
	count(labels.deny) == 0 with input as inp with data.rule_data as _rule_data
}

test_missing_config_fails if {
	inp := {"image": {"ref": "registry.example/team-a/app@sha256:00"}}
	results := labels.deny with input as inp with data.rule_data as _rule_data
	f.codes(results) == {"labels.inaccessible_config"}
}

test_no_image_no_result if {
	count(labels.deny) == 0 with input as {"attestations": []} with data.rule_data as _rule_data
}

test_labels_of_wrong_type if {
	inp := {"image": {"ref": "r@sha256:00", "config": {"Labels": null}}}
	f.codes(labels.deny) == {"labels.required_labels"} with input as inp with data.rule_data as _rule_data
}

test_bad_rule_data_fails if {
	results := labels.deny with input as _input(_good, {}) with data.rule_data.required_labels as [{"name": 1}, "x"]
		with data.rule_data.deprecated_labels as {"name": "x"}
	f.codes(results) == {"labels.rule_data_provided"}
	{r.msg | some r in results} == {
		"Rule data required_labels has unexpected format: [0]: not an object with a string name",
		"Rule data required_labels has unexpected format: [1]: not an object with a string name",
		"Rule data deprecated_labels has unexpected format: not a list",
	}
}
