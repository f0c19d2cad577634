# Warns about the volatileConfig excludes the policy spec in input carries.
package main

import rego.v1

_excludes contains item if {
	some source in input.policy_spec.sources
	some item in source.volatileConfig.exclude
}

_future(stamp) if time.parse_rfc3339_ns(stamp) > time.now_ns()

warn contains {"msg": sprintf("Volatile exclude rule '%s' is pending activation (effective on: %s)", [x.value, x.effectiveOn])} if {
	some x in _excludes
	_future(x.effectiveOn)
}

warn contains {"msg": sprintf("Volatile exclude rule '%s' will expire (effective until: %s)", [x.value, x.effectiveUntil])} if {
	some x in _excludes
	_future(x.effectiveUntil)
}

warn contains {"msg": sprintf("Volatile exclude rule '%s' has no expiration date set", [x.value])} if {
	some x in _excludes
	not x.effectiveUntil
	not x.effectiveOn
}

warn contains {"msg": sprintf("Volatile exclude rule '%s' is scoped to component '%s'", [x.value, input.component_name])} if {
	some x in _excludes
	input.component_name in x.componentNames
}
