# METADATA
# title: Trusted Task checks
# description: >-
#   Checks that every task of the build PipelineRun came from a trusted task definition: a task
#   bundle (or git commit) pinned by digest and listed, unexpired, in the `trusted_tasks` data.
# custom:
#   rule_data:
#   - trusted_tasks
#   - task_expiry_warning_days
package trusted_task

import rego.v1

# METADATA
# title: Tasks are trusted
# description: >-
#   Every task of the PipelineRun is trusted: its reference is pinned and the pin is listed for
#   its key in the `trusted_tasks` data with no `expires_on` in the past.
# custom:
#   short_name: trusted
#   failure_msg: Pipeline task %q uses an untrusted task reference, %s
#   solution: >-
#     Use only task bundles listed in the `trusted_tasks` data, pinned by digest, and move to a
#     newer version before a listed version expires.
#   collections:
#   - konflux
#   effective_on: 2024-05-07T00:00:00Z
#   depends_on:
#   - trusted_task.data
#   rule_data:
#   - trusted_tasks
deny contains res if {
	not data.supply.lib.trusted.missing_data
	some task in data.supply.lib.tekton.all_tasks
	not data.supply.lib.trusted.is_trusted(task)
	res := data.supply.lib.result.dated_with_term(
		"trusted_task.trusted",
		"Pipeline task %q uses an untrusted task reference, %s",
		[task.name, data.supply.lib.trusted.describe(task)],
		task.task_name,
		"2024-05-07T00:00:00Z",
	)
}

# METADATA
# title: Task references are pinned
# description: Every task reference names a digest (bundles) or a commit (git).
# custom:
#   short_name: pinned
#   failure_msg: Pipeline task %q uses an unpinned task reference, %s
#   solution: Pin every task bundle by digest (`repo:tag@sha256:…`) or every git reference by commit.
#   collections:
#   - konflux
#   effective_on: 2024-05-07T00:00:00Z
warn contains res if {
	some task in data.supply.lib.tekton.all_tasks
	not task.ref.pinned
	res := data.supply.lib.result.dated_with_term(
		"trusted_task.pinned",
		"Pipeline task %q uses an unpinned task reference, %s",
		[task.name, data.supply.lib.trusted.describe(task)],
		task.task_name,
		"2024-05-07T00:00:00Z",
	)
}

# METADATA
# title: Task bundle references are tagged
# description: Every task bundle reference has a tag as well as its digest, so its version is readable.
# custom:
#   short_name: tagged
#   failure_msg: Pipeline task %q uses an untagged task reference, %s
#   solution: Refer to task bundles as `repo:tag@sha256:…`.
#   collections:
#   - konflux
#   effective_on: 2024-05-07T00:00:00Z
warn contains res if {
	some task in data.supply.lib.tekton.all_tasks
	task.ref.bundle != ""
	not task.ref.tagged
	res := data.supply.lib.result.dated_with_term(
		"trusted_task.tagged",
		"Pipeline task %q uses an untagged task reference, %s",
		[task.name, task.ref.bundle],
		task.task_name,
		"2024-05-07T00:00:00Z",
	)
}

# METADATA
# title: Tasks are current
# description: >-
#   Warn when a trusted task version has an `expires_on` date (a newer version exists); with
#   `task_expiry_warning_days` above 0, only from that many days before it expires.
# custom:
#   short_name: current
#   failure_msg: A newer version of task %q exists. Please update before %s. The current bundle is %q and the latest bundle ref is %q
#   solution: Update the task reference to the newest trusted version.
#   collections:
#   - konflux
#   effective_on: 2024-05-07T00:00:00Z
#   rule_data:
#   - trusted_tasks
#   - task_expiry_warning_days
warn contains res if {
	some task in data.supply.lib.tekton.all_tasks
	expiry := data.supply.lib.trusted.expiry(task)
	res := data.supply.lib.result.dated_with_term(
		"trusted_task.current",
		"A newer version of task %q exists. Please update before %s. The current bundle is %q and the latest bundle ref is %q",
		[task.name, data.supply.lib.time.format_ns(expiry), task.ref.bundle, data.supply.lib.trusted.latest_ref(task)],
		task.task_name,
		"2024-05-07T00:00:00Z",
	)
}

# METADATA
# title: Task tracking data was provided
# description: The `trusted_tasks` data (data source or rule data) is present and not empty.
# custom:
#   short_name: data
#   failure_msg: Missing required trusted_tasks data
#   solution: Add a data source with the `trusted_tasks` of your task catalog to the policy.
#   collections:
#   - konflux
#   effective_on: 2024-05-07T00:00:00Z
#   rule_data:
#   - trusted_tasks
deny contains res if {
	data.supply.lib.trusted.missing_data
	res := data.supply.lib.result.dated("trusted_task.data", "Missing required trusted_tasks data", [], "2024-05-07T00:00:00Z")
}

# METADATA
# title: Data format
# description: >-
#   The `trusted_tasks` data is an object of non-empty lists of `{ref, effective_on?, expires_on?}`
#   records with RFC 3339 dates.
# custom:
#   short_name: data_format
#   failure_msg: '%s'
#   solution: Fix the `trusted_tasks` data.
#   collections:
#   - konflux
#   rule_data:
#   - trusted_tasks
deny contains res if {
	some e in data.supply.lib.trusted.data_errors
	res := data.supply.lib.result.with_severity(data.supply.lib.result.make("trusted_task.data_format", "%s", [e.message]), e.severity)
}
