# METADATA
# title: Time helpers
# description: >-
#   The effective time (`data.config.policy.when_ns`, else the clock) and effective-dated lists
#   (items with an `effective_on` RFC 3339 date).
package supply.lib.time

import rego.v1

# RFC 3339 date-time as Conforma writes it; checked before parsing because a parse error aborts
# the query on the embedded engine (OPA returns undefined).
_rfc3339 := `^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

# The effective time in nanoseconds since the epoch.
effective_ns := ns if {
	ns := data.config.policy.when_ns
	is_number(ns)
} else := time.now_ns()

# True when value is an RFC 3339 date-time string of a real calendar day. (Digits are compared
# as strings: regorus' to_number rejects leading zeros.)
is_rfc3339(value) if {
	is_string(value)
	regex.match(_rfc3339, value)
	substring(value, 8, 2) <= _days_in_month(substring(value, 0, 4), substring(value, 5, 2))
}

_days_in_month(_, month) := "31" if month in {"01", "03", "05", "07", "08", "10", "12"}

_days_in_month(_, month) := "30" if month in {"04", "06", "09", "11"}

_days_in_month(year, "02") := "29" if _leap(year)

_days_in_month(year, "02") := "28" if not _leap(year)

# A leap year has two days between its 28 February and 1 March (both always exist).
_leap(year) if {
	march := time.parse_rfc3339_ns(concat("", [year, "-03-01T00:00:00Z"]))
	february := time.parse_rfc3339_ns(concat("", [year, "-02-28T00:00:00Z"]))
	march - february == 172800000000000
}

# Nanoseconds of an RFC 3339 date-time; undefined when value is not one.
parse_ns(value) := time.parse_rfc3339_ns(value) if is_rfc3339(value)

# An RFC 3339 date-time (UTC, seconds) for nanoseconds since the epoch.
format_ns(ns) := time.format([ns, "UTC", "2006-01-02T15:04:05Z07:00"])

# True when item (an object) has no effective_on, or one that is not after the effective time.
in_effect(item) if {
	not "effective_on" in object.keys(item)
}

in_effect(item) if {
	parse_ns(item.effective_on) <= effective_ns
}

# The item of items with the latest valid effective_on (the first such on ties); undefined when none.
newest(items) := items[index] if {
	dated := [ns |
		some item in items
		ns := parse_ns(item.effective_on)
	]
	count(dated) > 0
	latest := max(dated)
	index := min({i |
		some i, item in items
		parse_ns(item.effective_on) == latest
	})
}

# The newest of the items already in effect; undefined when none is.
most_current(items) := newest([item |
	some item in items
	is_object(item)
	item.effective_on
	in_effect(item)
])
