# Checks what each source's ruleData made of data.rule_data__configuration__.
package main

import rego.v1

# METADATA
# title: missing data
# custom:
#   short_name: missing_data
#   failure_msg:
deny contains {"code": "main.missing_data", "msg": "No custom rule data"} if {
	not data.rule_data__configuration__
}

_value(key) := object.get(data.rule_data__configuration__, key, "")

# METADATA
# title: unexpected data
# custom:
#   short_name: unexpected_data
#   failure_msg: Unexpected rule data
deny contains result if {
	matches := [1 | _value("custom") == "data1"]
	others := [1 | _value("other") == "data2"]
	count(matches) + count(others) != 1
	result := {
		"code": "main.unexpected_data",
		"msg": sprintf("Unexpected rule data in custom or other. Data is: %s", [data.rule_data__configuration__]),
	}
}
