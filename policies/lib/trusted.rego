# METADATA
# title: Trusted tasks
# description: >-
#   Task references checked against the `trusted_tasks` data: `data.trusted_tasks` merged with
#   the `trusted_tasks` rule data. Keys are `oci://<repo>:<tag>` (or `oci://<repo>`) for bundles
#   and `git+<url>.git//<path>` for git; each holds a list of records
#   `{ref, effective_on?, expires_on?}` where `ref` is the bundle digest or git commit. A task is
#   trusted when its reference is pinned and a record of its key that has not expired at the
#   effective time names that pin.
package supply.lib.trusted

import rego.v1

# The merged trusted_tasks data.
all_data := object.union(_data_trusted_tasks, _rule_data_trusted_tasks)

_data_trusted_tasks := value if {
	value := data.trusted_tasks
	is_object(value)
} else := {}

_rule_data_trusted_tasks := value if {
	value := data.supply.lib.rule_data.get("trusted_tasks")
	is_object(value)
} else := {}

# True when no trusted_tasks data was provided at all.
missing_data if count(all_data) == 0

# The records of a key; a bundle key without tag also matches keys of any version tag.
records(key) := _valid_records(all_data[key]) if {
	is_array(all_data[key])
} else := [r |
	startswith(key, "oci://")
	some k, list in all_data
	is_array(list)
	regex.replace(k, `:[0-9][0-9A-Za-z._-]*$`, "") == key
	some r in _valid_records(list)
]

_valid_records(list) := [r |
	some r in list
	is_object(r)
	is_string(r.ref)
]

# True when a record has not expired at the effective time (an unparsable date has expired).
unexpired(record) if not "expires_on" in object.keys(record)

unexpired(record) if data.supply.lib.time.parse_ns(record.expires_on) > data.supply.lib.time.effective_ns

# The unexpired records of key that name pin.
matching(key, pin) := [r |
	some r in records(key)
	r.ref == pin
	unexpired(r)
]

# True when the task's reference is pinned and trusted.
is_trusted(task) if {
	task.ref.pinned
	count(matching(task.ref.key, task.ref.pinned_ref)) > 0
}

# Why a task is not trusted, in words.
describe(task) := sprintf("%s is not pinned to a digest or commit", [_where(task)]) if {
	not task.ref.pinned
} else := sprintf("no trusted_tasks entry for %s", [_key(task)]) if {
	count(records(task.ref.key)) == 0
} else := sprintf("%s is not a trusted version of %s (unknown or expired)", [task.ref.pinned_ref, _key(task)]) if {
	not is_trusted(task)
} else := "trusted"

_where(task) := sprintf("reference %q", [task.ref.bundle]) if task.ref.bundle != ""

else := sprintf("the reference of task %q", [task.task_name])

_key(task) := task.ref.key if task.ref.key != ""

else := "an inline or unknown reference"

# The expiry (ns) of the trusted record matching the task, when that record has one within the
# `task_expiry_warning_days` window (0: any expiry date).
expiry(task) := ns if {
	some r in matching(task.ref.key, task.ref.pinned_ref)
	ns := data.supply.lib.time.parse_ns(r.expires_on)
	_in_warning_window(ns)
}

_in_warning_window(_) if data.supply.lib.rule_data.get("task_expiry_warning_days") == 0

_in_warning_window(ns) if {
	days := data.supply.lib.rule_data.get("task_expiry_warning_days")
	is_number(days)
	days > 0
	ns <= time.add_date(data.supply.lib.time.effective_ns, 0, 0, days)
}

# The ref of the newest trusted record of the task's key that does not expire ("" when none).
latest_ref(task) := refs[0] if {
	refs := [r.ref |
		some r in records(task.ref.key)
		not "expires_on" in object.keys(r)
	]
	count(refs) > 0
} else := ""

# Problems with the trusted_tasks data, as {message, severity}.
data_errors contains {"message": msg, "severity": "failure"} if {
	not is_object(_raw_rule_data_trusted_tasks)
	msg := "trusted_tasks rule data has unexpected format: not an object"
}

data_errors contains {"message": msg, "severity": "failure"} if {
	some key, list in all_data
	not _non_empty_list(list)
	msg := sprintf("trusted_tasks data has unexpected format: %s: not a non-empty list", [key])
}

data_errors contains {"message": msg, "severity": "failure"} if {
	some key, list in all_data
	_non_empty_list(list)
	some i, r in list
	some problem in _record_problems(r)
	msg := sprintf("trusted_tasks data has unexpected format: %s[%d]: %s", [key, i, problem])
}

_raw_rule_data_trusted_tasks := data.supply.lib.rule_data.get("trusted_tasks")

_non_empty_list(list) if {
	is_array(list)
	count(list) > 0
}

_record_problems(r) := {"not an object"} if not is_object(r)

_record_problems(r) := problems if {
	is_object(r)
	problems := ({"ref is not a string" | not is_string(object.get(r, "ref", null))} | {sprintf("%s is not an RFC 3339 date-time", [k]) |
		some k in ["effective_on", "expires_on"]
		k in object.keys(r)
		not data.supply.lib.time.is_rfc3339(r[k])
	}) | {sprintf("unexpected key %q", [k]) |
		some k in object.keys(r)
		not k in {"ref", "effective_on", "expires_on"}
	}
}
