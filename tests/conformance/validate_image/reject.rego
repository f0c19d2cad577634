# Two rules that always deny; the second one twice, with a term each time.
package main

import rego.v1

# METADATA
# title: Reject rule
# description: This rule will always fail
# custom:
#   short_name: rejector
#   failure_msg: Fails always
#   solution: None
#   collections:
#   - A
deny contains {
	"code": "main.rejector",
	"collections": ["A"],
	"effective_on": "2022-01-01T00:00:00Z",
	"msg": "Fails always",
}

# METADATA
# title: Reject with term rule
# description: This rule will always fail
# custom:
#   short_name: reject_with_term
#   failure_msg: Fails always
#   solution: None
#   collections:
#   - A
deny contains denial if {
	terms := {"term1": "term1", "term2": ["term2", "term3"]}
	some label, term in terms
	denial := {
		"code": "main.reject_with_term",
		"term": term,
		"collections": ["A"],
		"effective_on": "2022-01-01T00:00:00Z",
		"msg": sprintf("Fails always (%s)", [label]),
	}
}
