# One passing and one failing rule in their own package.
package gloomy

import rego.v1

# METADATA
# title: Allow gloomy rule
# description: This rule will never fail
# custom:
#   short_name: happy
#   failure_msg: Always succeeds
deny contains msg if {
	1 == 2
	msg := "unreachable"
}

# METADATA
# title: Reject gloomy rule
# description: This rule always fails
# custom:
#   short_name: sad
#   failure_msg: Always fails
deny contains {"code": "gloomy.sad", "effective_on": "2022-01-01T00:00:00Z", "msg": "Always fails"}
