package provenance_materials_test

import rego.v1

import data.provenance_materials
import data.supply.lib.fixtures_test as f

test_v02_clone_matches if {
	count(provenance_materials.deny) == 0 with input as f.input_v02
}

test_v1_clone_matches if {
	count(provenance_materials.deny) == 0 with input as f.input_v1
}

test_no_clone_task_fails if {
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[1]])]}
	f.codes(provenance_materials.deny) == {"provenance_materials.git_clone_task_found"} with input as inp
}

test_v1_no_clone_task_fails if {
	inp := {"attestations": [f.att_v1([f.standard_taskruns[1]])]}
	f.codes(provenance_materials.deny) == {"provenance_materials.git_clone_task_found"} with input as inp
}

test_other_commit_fails if {
	clone := f.task_v02("clone", "git-clone", f.bundle("git-clone", f.digest_a), {"url": f.repo_url, "commit": "1111111111111111111111111111111111111111"})
	inp := {"attestations": [f.att_v02([clone, f.standard_tasks_v02[1]])]}
	results := provenance_materials.deny with input as inp
	f.codes(results) == {"provenance_materials.git_clone_source_matches_provenance"}
	some r in results
	r.msg == sprintf(`Entry in materials for the git repo %q and commit "1111111111111111111111111111111111111111" not found`, [f.repo_url])
}

test_v1_other_repo_fails if {
	clone := f.taskrun("clone", "git-clone", f.bundle("git-clone", f.digest_a), {"url": "https://git.example.com/team-b/app", "commit": f.commit})
	inp := {"attestations": [f.att_v1([clone, f.standard_taskruns[1]])]}
	f.codes(provenance_materials.deny) == {"provenance_materials.git_clone_source_matches_provenance"} with input as inp
}

test_url_with_git_suffix_matches if {
	clone := f.task_v02("clone", "git-clone", f.bundle("git-clone", f.digest_a), {"url": sprintf("%s.git", [f.repo_url]), "commit": f.commit})
	inp := {"attestations": [f.att_v02([clone, f.standard_tasks_v02[1]])]}
	count(provenance_materials.deny) == 0 with input as inp
}
