package cve_test

import rego.v1

import data.cve
import data.supply.lib.fixtures_test as f

_vuln_att(vulns) := {"statement": {
	"_type": "https://in-toto.io/Statement/v0.1",
	"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1",
	"subject": f.subject,
	"predicate": {"scanner": {"uri": "https://quay.io/projectquay/clair", "result": {"vulnerabilities": vulns}}},
}}

_input(vulns) := {"attestations": array.concat(f.input_v02.attestations, [_vuln_att(vulns)])}

_high_fixed := {"name": "CVE-2025-0001", "normalized_severity": "High", "fixed_in_version": "1.2.4", "issued": "2025-01-10T00:00:00Z"}

_critical_unfixed := {"name": "CVE-2025-0002", "normalized_severity": "Critical", "fixed_in_version": "", "issued": "2025-01-10T00:00:00Z"}

_low_fixed := {"name": "CVE-2025-0003", "normalized_severity": "Low", "fixed_in_version": "2.0"}

test_clean_scan_passes if {
	count(cve.deny) == 0 with input as _input([_low_fixed])
	count(cve.warn) == 0 with input as _input([_low_fixed])
}

test_patched_high_blocks if {
	results := cve.deny with input as _input([_high_fixed, _low_fixed])
	f.codes(results) == {"cve.cve_blockers"}
	some r in results
	r.msg == `Found "CVE-2025-0001" vulnerability of high security level`
	r.term == "CVE-2025-0001"
	r.effective_on == "2025-01-10T00:00:00Z"
}

test_leeway_moves_effective_date if {
	results := cve.deny with input as _input([_high_fixed]) with data.rule_data.cve_leeway as {"high": 30}
	some r in results
	r.effective_on == "2025-02-09T00:00:00Z"
}

test_unpatched_critical_warns_by_default if {
	count(cve.deny) == 0 with input as _input([_critical_unfixed])
	results := cve.warn with input as _input([_critical_unfixed])
	f.codes(results) == {"cve.unpatched_cve_warnings"}
	some r in results
	r.msg == `Found "CVE-2025-0002" non-blocking unpatched vulnerability of critical security level`
}

test_unpatched_blockers_from_rule_data if {
	results := cve.deny with input as _input([_critical_unfixed])
		with data.rule_data.restrict_unpatched_cve_security_levels as ["critical"]
	f.codes(results) == {"cve.unpatched_cve_blockers"}
}

test_warning_levels_from_rule_data if {
	results := cve.warn with input as _input([_low_fixed]) with data.rule_data.warn_cve_security_levels as ["low"]
	f.codes(results) == {"cve.cve_warnings"}
}

test_cyclonedx_vulnerabilities if {
	sbom := f.cyclonedx_attestation([])
	doc := object.union(sbom.statement.predicate, {"vulnerabilities": [{"id": "CVE-2025-0009", "ratings": [{"severity": "medium"}, {"severity": "critical"}], "published": "2025-03-01T00:00:00Z"}]})
	inp := {"attestations": [{"statement": object.union(sbom.statement, {"predicate": doc})}]}
	results := cve.deny with input as inp
	f.codes(results) == {"cve.cve_blockers"}
	some r in results
	r.msg == `Found "CVE-2025-0009" vulnerability of critical security level`
}

test_clair_summary_v02 if {
	scan := f.task_v02("clair", "clair-scan", f.bundle("clair-scan", f.digest_a), {"SCAN_OUTPUT": `{"vulnerabilities":{"critical":0,"high":2},"unpatched_vulnerabilities":{"medium":8}}`})
	inp := {"attestations": [f.att_v02(array.concat(f.standard_tasks_v02, [scan]))]}
	results := cve.deny with input as inp
	f.codes(results) == {"cve.cve_blockers"}
	some r in results
	r.msg == `Found "2 counted by clair" vulnerability of high security level`
	count(cve.warn) == 0 with input as inp
}

test_clair_summary_v1 if {
	scan := f.taskrun("clair", "clair-scan", f.bundle("clair-scan", f.digest_a), {"SCAN_OUTPUT": `{"vulnerabilities":{"critical":1}}`})
	inp := {"attestations": [f.att_v1(array.concat(f.standard_taskruns, [scan]))]}
	f.codes(cve.deny) == {"cve.cve_blockers"} with input as inp
}

test_clean_clair_summary_passes if {
	scan := f.task_v02("clair", "clair-scan", f.bundle("clair-scan", f.digest_a), {"SCAN_OUTPUT": `{"vulnerabilities":{"critical":0,"high":0},"unpatched_vulnerabilities":{"medium":8,"low":18}}`})
	inp := {"attestations": [f.att_v02(array.concat(f.standard_tasks_v02, [scan]))]}
	count(cve.deny) == 0 with input as inp
}

test_detailed_report_wins_over_summary if {
	scan := f.task_v02("clair", "clair-scan", f.bundle("clair-scan", f.digest_a), {"SCAN_OUTPUT": `{"vulnerabilities":{"critical":3}}`})
	inp := {"attestations": [f.att_v02(array.concat(f.standard_tasks_v02, [scan])), _vuln_att([_low_fixed])]}
	count(cve.deny) == 0 with input as inp
}

test_unreadable_summary_is_no_result if {
	scan := f.task_v02("clair", "clair-scan", f.bundle("clair-scan", f.digest_a), {"SCAN_OUTPUT": "not json"})
	inp := {"attestations": [f.att_v02(array.concat(f.standard_tasks_v02, [scan]))]}
	f.codes(cve.deny) == {"cve.cve_results_found"} with input as inp
}

test_no_results_fails if {
	f.codes(cve.deny) == {"cve.cve_results_found"} with input as f.input_v02
}

test_bad_rule_data_fails if {
	results := cve.deny with input as _input([]) with data.rule_data.restrict_cve_security_levels as ["severe"]
		with data.rule_data.cve_leeway as {"high": -1}
	f.codes(results) == {"cve.rule_data_provided"}
	{r.msg | some r in results} == {
		"Rule data restrict_cve_security_levels has unexpected format: [0]: severe is not one of critical, high, medium, low, unknown",
		"Rule data cve_leeway has unexpected format: high: -1 is not a number of days for a known level",
	}
}

test_rule_data_of_wrong_type_fails_closed if {
	results := cve.deny with input as _input([_high_fixed]) with data.rule_data.restrict_cve_security_levels as "high"
	"cve.rule_data_provided" in f.codes(results)
}
