package slsa_build_scripted_build_test

import rego.v1

import data.slsa_build_scripted_build
import data.supply.lib.fixtures_test as f

test_v02_build_passes if {
	count(slsa_build_scripted_build.deny) == 0 with input as f.input_v02 with data.trusted_tasks as f.trusted_tasks
}

test_v1_build_passes if {
	count(slsa_build_scripted_build.deny) == 0 with input as f.input_v1 with data.trusted_tasks as f.trusted_tasks
}

test_no_build_task_fails if {
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0]])]}
	f.codes(slsa_build_scripted_build.deny) == {"slsa_build_scripted_build.build_task_image_results_found"} with input as inp
}

test_v1_no_build_task_fails if {
	inp := {"attestations": [f.att_v1([f.standard_taskruns[0]])]}
	f.codes(slsa_build_scripted_build.deny) == {"slsa_build_scripted_build.build_task_image_results_found"} with input as inp
}

test_v1_slsa_build_type_has_no_tasks if {
	# Chains' plain `slsa` build type records no TaskRun content, so no build task is visible.
	inp := f.set_predicate_key(f.input_v1, "buildDefinition", {
		"buildType": "https://tekton.dev/chains/v2/slsa",
		"externalParameters": {"runSpec": {"pipelineRef": {"name": "docker-build"}}},
		"resolvedDependencies": [{"name": "pipelineTask", "uri": "registry.example/catalog/task-buildah", "digest": {"sha256": "ee"}}],
	})
	f.codes(slsa_build_scripted_build.deny) == {"slsa_build_scripted_build.build_task_image_results_found"} with input as inp
}

test_build_task_without_steps_fails if {
	build := object.union(f.standard_tasks_v02[1], {"steps": []})
	inp := {"attestations": [f.att_v02([f.standard_tasks_v02[0], build])]}
	results := slsa_build_scripted_build.deny with input as inp with data.trusted_tasks as f.trusted_tasks
	f.codes(results) == {"slsa_build_scripted_build.build_script_used"}
	some r in results
	r.msg == `Build task "build" does not contain any steps`
}

test_subject_mismatch_fails if {
	inp := f.with_statement(f.input_v02, {"subject": [{"name": f.image_repo, "digest": {"sha256": substring(f.digest_a, 7, -1)}}]})
	results := slsa_build_scripted_build.deny with input as inp with data.trusted_tasks as f.trusted_tasks
	f.codes(results) == {"slsa_build_scripted_build.subject_build_task_matches"}
	some r in results
	r.msg == sprintf(`The attestation subject, "%s@%s", does not match any of the images built`, [f.image_repo, f.digest_a])
}

test_v1_subject_mismatch_fails if {
	inp := f.with_statement(f.input_v1, {"subject": [{"name": "registry.example/other", "digest": {"sha256": substring(f.digest_c, 7, -1)}}]})
	f.codes(slsa_build_scripted_build.deny) == {"slsa_build_scripted_build.subject_build_task_matches"} with input as inp with data.trusted_tasks as f.trusted_tasks
}

test_untrusted_build_task_fails if {
	results := slsa_build_scripted_build.deny with input as f.input_v02
		with data.trusted_tasks as {"oci://registry.example/catalog/task-git-clone:0.1": [{"ref": f.digest_a}]}
	f.codes(results) == {"slsa_build_scripted_build.image_built_by_trusted_task"}
	some r in results
	r.msg == sprintf(`Image "%s@%s" not built by a trusted task: no trusted_tasks entry for oci://registry.example/catalog/task-buildah:0.1`, [f.image_repo, f.digest_c])
}

test_source_image_subject_matches_source_build_task if {
	source_digest := f.digest_a
	source := f.task_v02("source", "source-build", f.bundle("source-build", f.digest_a), {
		"SOURCE_IMAGE_URL": sprintf("%s:src", [f.image_repo]),
		"SOURCE_IMAGE_DIGEST": source_digest,
	})
	subjects := array.concat(f.subject, [{"name": f.image_repo, "digest": {"sha256": substring(source_digest, 7, -1)}}])
	inp := f.with_statement({"attestations": [f.att_v02(array.concat(f.standard_tasks_v02, [source]))]}, {"subject": subjects})
	count(slsa_build_scripted_build.deny) == 0 with input as inp with data.trusted_tasks as f.trusted_tasks
}

test_index_subject_matches_images_result if {
	index_digest := f.digest_b
	results := {"IMAGES": sprintf("%s@%s, %s@%s", [f.image_repo, f.digest_c, f.image_repo, index_digest])}
	manifest := f.taskrun("index", "build-image-index", f.bundle("build-image-index", f.digest_a), results)
	subjects := array.concat(f.subject, [{"name": f.image_repo, "digest": {"sha256": substring(index_digest, 7, -1)}}])
	inp := f.with_statement({"attestations": [f.att_v1(array.concat(f.standard_taskruns, [manifest]))]}, {"subject": subjects})
	count(slsa_build_scripted_build.deny) == 0 with input as inp with data.trusted_tasks as f.trusted_tasks
}
