# METADATA
# title: SLSA - Source - Version Controlled
# description: >-
#   Checks that the provenance records the source as a git repository pinned to a commit:
#   `materials` (SLSA v0.2) or `resolvedDependencies` (SLSA v1.0) with a `git+` URI and a
#   `sha1` or `gitCommit` digest.
package slsa_source_version_controlled

import rego.v1

# METADATA
# title: Materials have uri and digest
# description: At least one material of the PipelineRun provenance has a string uri and a digest object.
# custom:
#   short_name: materials_format_okay
#   failure_msg: No materials match expected format
#   solution: Make sure the build records its source (for Tekton Chains, the CHAINS-GIT_URL and CHAINS-GIT_COMMIT results).
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some att in data.supply.lib.attestations.pipelinerun_attestations
	count(_well_formed(att)) == 0
	res := data.supply.lib.result.make("slsa_source_version_controlled.materials_format_okay", "No materials match expected format", [])
}

# METADATA
# title: Material uri is a git repo
# description: Every source material (a material with a commit digest) has a `git+` URI.
# custom:
#   short_name: materials_uri_is_git_repo
#   failure_msg: Material URI %q is not a git URI
#   solution: Build from a git repository.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - slsa_source_version_controlled.materials_format_okay
deny contains res if {
	some att in data.supply.lib.attestations.pipelinerun_attestations
	some m in _well_formed(att)
	_commit_digest(m)
	not startswith(m.uri, "git+")
	res := data.supply.lib.result.make("slsa_source_version_controlled.materials_uri_is_git_repo", "Material URI %q is not a git URI", [m.uri])
}

# METADATA
# title: Materials include git commit shas
# description: Every `git+` material is pinned to a 40-hex commit (`sha1` or `gitCommit` digest).
# custom:
#   short_name: materials_include_git_sha
#   failure_msg: Material digest %q is not a git commit sha
#   solution: Record the commit the build used, not a branch or tag.
#   collections:
#   - minimal
#   - slsa3
#   - konflux
#   depends_on:
#   - slsa_source_version_controlled.materials_format_okay
deny contains res if {
	some att in data.supply.lib.attestations.pipelinerun_attestations
	some m in _well_formed(att)
	startswith(m.uri, "git+")
	not _commit_digest(m)
	res := data.supply.lib.result.make(
		"slsa_source_version_controlled.materials_include_git_sha",
		"Material digest %q is not a git commit sha",
		[_digest_text(m.digest)],
	)
}

_well_formed(att) := [m |
	some m in data.supply.lib.attestations.materials(att)
	is_string(m.uri)
	is_object(m.digest)
]

_commit_digest(m) if {
	some alg in ["sha1", "gitCommit"]
	regex.match(`^[0-9a-f]{40}$`, m.digest[alg])
}

_digest_text(digest) := concat(",", sort([sprintf("%s:%v", [k, v]) | some k, v in digest]))
