# METADATA
# title: Provenance Materials
# description: >-
#   Checks that the source the git-clone task fetched is the source recorded in the provenance
#   materials, pinned to the same commit.
package provenance_materials

import rego.v1

# METADATA
# title: Git clone task found
# description: The PipelineRun has a task that reports `url` and `commit` results (a git clone).
# custom:
#   short_name: git_clone_task_found
#   failure_msg: Task git-clone not found
#   solution: Fetch the source with a git-clone task that reports the `url` and `commit` results.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.git_clone_tasks) == 0
	res := data.supply.lib.result.make("provenance_materials.git_clone_task_found", "Task git-clone not found", [])
}

# METADATA
# title: Git clone source matches materials provenance
# description: >-
#   For every git-clone task, the provenance materials hold `git+<url>` (with or without `.git`)
#   with the cloned commit as its `sha1` (or `gitCommit`) digest.
# custom:
#   short_name: git_clone_source_matches_provenance
#   failure_msg: Entry in materials for the git repo %q and commit %q not found
#   solution: >-
#     Make sure the provenance materials record the repository and commit the git-clone task
#     fetched (Tekton Chains: CHAINS-GIT_URL and CHAINS-GIT_COMMIT results).
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - provenance_materials.git_clone_task_found
deny contains res if {
	some run in data.supply.lib.tekton.runs
	some task in run.git_clone_tasks
	url := data.supply.lib.tekton.result_string(task, "url")
	commit := data.supply.lib.tekton.result_string(task, "commit")
	not _recorded(run, url, commit)
	res := data.supply.lib.result.make(
		"provenance_materials.git_clone_source_matches_provenance",
		"Entry in materials for the git repo %q and commit %q not found",
		[url, commit],
	)
}

_recorded(run, url, commit) if {
	some m in data.supply.lib.attestations.materials(run.attestation)
	is_string(m.uri)
	_same_repo(m.uri, url)
	some alg in ["sha1", "gitCommit"]
	m.digest[alg] == commit
}

_same_repo(uri, url) if _normal(uri) == _normal(url)

_normal(url) := trim_suffix(trim_suffix(trim_prefix(url, "git+"), "/"), ".git")
