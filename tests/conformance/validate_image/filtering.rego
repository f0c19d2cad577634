# METADATA
# title: Filtering
# description: Rules to exercise include, exclude and collections.
package filtering

import rego.v1

# METADATA
# title: always pass
# description: Never denies
# custom:
#   short_name: always_pass
deny contains msg if {
	1 == 2
	msg := "unreachable"
}

# METADATA
# title: always fail
# description: Always denies
# custom:
#   short_name: always_fail
deny contains {"code": "filtering.always_fail", "msg": "always fail"}

# METADATA
# title: always pass with collection
# description: Never denies; member of the stamps collection
# custom:
#   short_name: always_pass_with_collection
#   collections:
#   - stamps
deny contains msg if {
	1 == 2
	msg := "unreachable"
}

# METADATA
# title: always fail with collection
# description: Always denies; member of the stamps collection
# custom:
#   short_name: always_fail_with_collection
#   collections:
#   - stamps
deny contains {
	"code": "filtering.always_fail_with_collection",
	"msg": "always fail with collection",
	"collections": ["stamps"],
}
