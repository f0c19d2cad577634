# METADATA
# title: CVE checks
# description: >-
#   Checks the vulnerabilities found in the image against the levels in rule data. Sources, in
#   order: vulnerability-scan attestations (predicate type
#   `https://cosign.sigstore.dev/attestation/vuln/v1` whose `scanner.result.vulnerabilities`
#   is a Clair-style list of `{name, normalized_severity, fixed_in_version, issued}`), and
#   CycloneDX SBOM `vulnerabilities` (`{id, ratings[].severity, published}`; counted as patched,
#   the format records no fix). When neither is present, the summary counts of a clair-scan
#   task's SCAN_OUTPUT result in the provenance are used. A patched vulnerability has a fix
#   (`fixed_in_version`); an unpatched one has none. A blocker's effective date is its `issued`
#   date plus `cve_leeway` days for its level, so it is a warning until then.
# custom:
#   rule_data:
#   - restrict_cve_security_levels
#   - cve_leeway
#   - restrict_unpatched_cve_security_levels
#   - warn_cve_security_levels
#   - warn_unpatched_cve_security_levels
package cve

import rego.v1

# METADATA
# title: Blocking CVE check
# description: >-
#   No patched vulnerability has a level listed in `restrict_cve_security_levels` (default
#   critical, high).
# custom:
#   short_name: cve_blockers
#   failure_msg: Found %q vulnerability of %s security level
#   solution: Update the vulnerable packages to the fixed versions and rebuild.
#   collections:
#   - konflux
#   depends_on:
#   - cve.cve_results_found
#   rule_data:
#   - restrict_cve_security_levels
#   - cve_leeway
deny contains res if {
	some vuln in _in_levels("restrict_cve_security_levels", true)
	res := data.supply.lib.result.dated_with_term(
		"cve.cve_blockers",
		"Found %q vulnerability of %s security level",
		[vuln.name, vuln.level],
		vuln.name,
		_effective_on(vuln),
	)
}

# METADATA
# title: Blocking unpatched CVE check
# description: >-
#   No unpatched vulnerability has a level listed in `restrict_unpatched_cve_security_levels`
#   (default none).
# custom:
#   short_name: unpatched_cve_blockers
#   failure_msg: Found %q unpatched vulnerability of %s security level
#   solution: Remove the vulnerable package, or accept the risk by excluding the CVE.
#   collections:
#   - konflux
#   depends_on:
#   - cve.cve_results_found
#   rule_data:
#   - restrict_unpatched_cve_security_levels
#   - cve_leeway
deny contains res if {
	some vuln in _in_levels("restrict_unpatched_cve_security_levels", false)
	res := data.supply.lib.result.dated_with_term(
		"cve.unpatched_cve_blockers",
		"Found %q unpatched vulnerability of %s security level",
		[vuln.name, vuln.level],
		vuln.name,
		_effective_on(vuln),
	)
}

# METADATA
# title: Non-blocking CVE check
# description: Warn about patched vulnerabilities of a level listed in `warn_cve_security_levels`.
# custom:
#   short_name: cve_warnings
#   failure_msg: Found %q non-blocking vulnerability of %s security level
#   solution: Update the vulnerable packages to the fixed versions.
#   collections:
#   - konflux
#   depends_on:
#   - cve.cve_results_found
#   rule_data:
#   - warn_cve_security_levels
warn contains res if {
	some vuln in _in_levels("warn_cve_security_levels", true)
	res := data.supply.lib.result.with_term(
		"cve.cve_warnings",
		"Found %q non-blocking vulnerability of %s security level",
		[vuln.name, vuln.level],
		vuln.name,
	)
}

# METADATA
# title: Non-blocking unpatched CVE check
# description: >-
#   Warn about unpatched vulnerabilities of a level listed in
#   `warn_unpatched_cve_security_levels` (default critical, high).
# custom:
#   short_name: unpatched_cve_warnings
#   failure_msg: Found %q non-blocking unpatched vulnerability of %s security level
#   solution: Watch for a fix of the vulnerable package.
#   collections:
#   - konflux
#   depends_on:
#   - cve.cve_results_found
#   rule_data:
#   - warn_unpatched_cve_security_levels
warn contains res if {
	some vuln in _in_levels("warn_unpatched_cve_security_levels", false)
	res := data.supply.lib.result.with_term(
		"cve.unpatched_cve_warnings",
		"Found %q non-blocking unpatched vulnerability of %s security level",
		[vuln.name, vuln.level],
		vuln.name,
	)
}

# METADATA
# title: CVE scan results found
# description: >-
#   The image has vulnerability scan results: a vulnerability-scan attestation, a CycloneDX SBOM
#   with a `vulnerabilities` list, or a clair-scan SCAN_OUTPUT result in the provenance.
# custom:
#   short_name: cve_results_found
#   failure_msg: CVE scan results were not found
#   solution: Scan the image (for example with the clair-scan task) and attest the results.
#   collections:
#   - konflux
deny contains res if {
	not _has_detailed
	count(_summaries) == 0
	res := data.supply.lib.result.make("cve.cve_results_found", "CVE scan results were not found", [])
}

# METADATA
# title: Rule data provided
# description: >-
#   The four level lists are lists of unique levels (critical, high, medium, low, unknown) and
#   `cve_leeway` maps levels to non-negative whole numbers of days.
# custom:
#   short_name: rule_data_provided
#   failure_msg: '%s'
#   solution: Fix the CVE rule data.
#   collections:
#   - konflux
#   rule_data:
#   - restrict_cve_security_levels
#   - warn_cve_security_levels
#   - restrict_unpatched_cve_security_levels
#   - warn_unpatched_cve_security_levels
#   - cve_leeway
deny contains res if {
	some message in _rule_data_errors
	res := data.supply.lib.result.with_severity(data.supply.lib.result.make("cve.rule_data_provided", "%s", [message]), "failure")
}

_levels := {"critical", "high", "medium", "low", "unknown"}

_level_keys := [
	"restrict_cve_security_levels",
	"warn_cve_security_levels",
	"restrict_unpatched_cve_security_levels",
	"warn_unpatched_cve_security_levels",
]

# Vulnerabilities as {name, level, patched, issued}.
_detailed contains vuln if {
	some s in data.supply.lib.attestations.statements
	s.predicateType == "https://cosign.sigstore.dev/attestation/vuln/v1"
	some v in _list(object.get(s, ["predicate", "scanner", "result", "vulnerabilities"], []))
	is_object(v)
	vuln := {
		"name": _name(v),
		"level": _level(object.get(v, "normalized_severity", "unknown")),
		"patched": _patched(v),
		"issued": object.get(v, "issued", ""),
	}
}

_detailed contains vuln if {
	some doc in data.supply.lib.attestations.cyclonedx_sboms
	some v in _list(object.get(doc, "vulnerabilities", []))
	is_object(v)
	vuln := {
		"name": _name(v),
		"level": _cdx_level(v),
		"patched": true,
		"issued": object.get(v, "published", ""),
	}
}

_has_detailed if {
	some s in data.supply.lib.attestations.statements
	s.predicateType == "https://cosign.sigstore.dev/attestation/vuln/v1"
	is_array(object.get(s, ["predicate", "scanner", "result", "vulnerabilities"], null))
}

_has_detailed if {
	some doc in data.supply.lib.attestations.cyclonedx_sboms
	is_array(object.get(doc, "vulnerabilities", null))
}

# Clair SCAN_OUTPUT summaries as {task, counts: {"patched": {level: n}, "unpatched": {level: n}}}.
_summaries contains summary if {
	some task in data.supply.lib.tekton.all_tasks
	text := task.results.SCAN_OUTPUT
	is_string(text)
	json.is_valid(text)
	doc := json.unmarshal(text)
	is_object(doc)
	summary := {"task": task.name, "doc": doc}
}

_from_summaries contains vuln if {
	not _has_detailed
	some summary in _summaries
	some key, patched in {"vulnerabilities": true, "unpatched_vulnerabilities": false}
	some level, n in _object(object.get(summary.doc, key, {}))
	is_number(n)
	n > 0
	vuln := {
		"name": sprintf("%d counted by %s", [n, summary.task]),
		"level": _level(level),
		"patched": patched,
		"issued": "",
	}
}

_all_vulns := _detailed | _from_summaries

_in_levels(key, patched) := {v |
	levels := data.supply.lib.rule_data.get(key)
	is_array(levels)
	some v in _all_vulns
	v.patched == patched
	v.level in levels
}

_name(v) := name if {
	name := v.name
	is_string(name)
} else := name if {
	name := v.id
	is_string(name)
} else := "UNKNOWN"

_level(s) := lower(s) if {
	is_string(s)
	lower(s) in _levels
} else := "unknown"

_cdx_level(v) := level if {
	ranks := {"critical": 4, "high": 3, "medium": 2, "low": 1, "unknown": 0}
	levels := [_level(r.severity) | some r in _list(object.get(v, "ratings", [])); is_object(r)]
	count(levels) > 0
	top := max([ranks[l] | some l in levels])
	some level in levels
	ranks[level] == top
} else := "unknown"

_patched(v) if {
	fixed := object.get(v, "fixed_in_version", "")
	is_string(fixed)
	fixed != ""
} else := false

_effective_on(vuln) := data.supply.lib.time.format_ns(time.add_date(data.supply.lib.time.parse_ns(vuln.issued), 0, 0, _leeway(vuln.level))) if {
	data.supply.lib.time.parse_ns(vuln.issued)
} else := data.supply.lib.result.default_effective_on

_leeway(level) := days if {
	days := data.supply.lib.rule_data.get("cve_leeway")[level]
	is_number(days)
	days >= 0
} else := 0

_rule_data_errors contains msg if {
	some key in _level_keys
	value := data.supply.lib.rule_data.get(key)
	not is_array(value)
	msg := sprintf("Rule data %s has unexpected format: not a list", [key])
}

_rule_data_errors contains msg if {
	some key in _level_keys
	some i, level in _list(data.supply.lib.rule_data.get(key))
	not level in _levels
	msg := sprintf("Rule data %s has unexpected format: [%d]: %v is not one of critical, high, medium, low, unknown", [key, i, level])
}

_rule_data_errors contains msg if {
	leeway := data.supply.lib.rule_data.get("cve_leeway")
	not is_object(leeway)
	msg := "Rule data cve_leeway has unexpected format: not an object"
}

_rule_data_errors contains msg if {
	leeway := data.supply.lib.rule_data.get("cve_leeway")
	is_object(leeway)
	some level, days in leeway
	not _valid_leeway(level, days)
	msg := sprintf("Rule data cve_leeway has unexpected format: %s: %v is not a number of days for a known level", [level, days])
}

_valid_leeway(level, days) if {
	level in _levels
	is_number(days)
	days >= 0
	round(days) == days
}

_list(value) := value if is_array(value)

else := []

_object(value) := value if is_object(value)

else := {}
