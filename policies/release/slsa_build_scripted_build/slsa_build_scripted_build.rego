# METADATA
# title: SLSA - Build - Scripted Build
# description: >-
#   Checks that the image was built by a scripted build task (a task with steps) of the
#   attested PipelineRun, and that the image the task reports is the attestation's subject.
# custom:
#   rule_data:
#   - trusted_tasks
package slsa_build_scripted_build

import rego.v1

# METADATA
# title: Build task contains steps
# description: >-
#   Every build task (a task reporting IMAGE_URL and IMAGE_DIGEST) of the PipelineRun has at
#   least one step.
# custom:
#   short_name: build_script_used
#   failure_msg: Build task %q does not contain any steps
#   solution: Make sure the build task that produced the image runs its build as steps.
#   collections:
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some run in data.supply.lib.tekton.runs
	some task in run.build_tasks
	count(task.steps) == 0
	res := data.supply.lib.result.make("slsa_build_scripted_build.build_script_used", "Build task %q does not contain any steps", [task.name])
}

# METADATA
# title: Build task set image digest and url task results
# description: >-
#   The PipelineRun has a build task: a task with non-empty IMAGE_URL and IMAGE_DIGEST results.
# custom:
#   short_name: build_task_image_results_found
#   failure_msg: Build task not found
#   solution: >-
#     Make sure the build pipeline's build task reports the image it built in the IMAGE_URL and
#     IMAGE_DIGEST results.
#   collections:
#   - slsa3
#   - konflux
#   depends_on:
#   - attestation_type.known_attestation_type
deny contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.build_tasks) == 0
	res := data.supply.lib.result.make("slsa_build_scripted_build.build_task_image_results_found", "Build task not found", [])
}

# METADATA
# title: Provenance subject matches build task image result
# description: >-
#   Every subject of the PipelineRun attestation is an image that one of its tasks reports, as
#   Tekton Chains' type hints name them: a `*IMAGE_URL` and `*IMAGE_DIGEST` result pair (for
#   example IMAGE_URL/IMAGE_DIGEST of the build task, SOURCE_IMAGE_URL/SOURCE_IMAGE_DIGEST of a
#   source image build) or an entry of an IMAGES result. Repository and digest must match; the
#   tag is ignored.
# custom:
#   short_name: subject_build_task_matches
#   failure_msg: The attestation subject, %q, does not match any of the images built
#   solution: >-
#     Make sure the attestation subjects are the images the build tasks report in IMAGE_URL and
#     IMAGE_DIGEST.
#   collections:
#   - slsa3
#   - konflux
#   depends_on:
#   - slsa_build_scripted_build.build_task_image_results_found
deny contains res if {
	some run in data.supply.lib.tekton.runs
	count(run.build_tasks) > 0
	built := _reported_images(run)
	some subject in data.supply.lib.attestations.subjects(run.attestation)
	ref := _subject_ref(subject)
	not ref in built
	res := data.supply.lib.result.make(
		"slsa_build_scripted_build.subject_build_task_matches",
		"The attestation subject, %q, does not match any of the images built",
		[ref],
	)
}

# METADATA
# title: Image built by trusted Task
# description: >-
#   The build task that produced the image is a trusted task (see the trusted_task package and
#   the `trusted_tasks` data).
# custom:
#   short_name: image_built_by_trusted_task
#   failure_msg: 'Image %q not built by a trusted task: %s'
#   solution: Build the image with a task bundle listed in the `trusted_tasks` data.
#   collections:
#   - konflux
#   depends_on:
#   - slsa_build_scripted_build.build_task_image_results_found
#   rule_data:
#   - trusted_tasks
deny contains res if {
	some run in data.supply.lib.tekton.runs
	some task in run.build_tasks
	not data.supply.lib.trusted.is_trusted(task)
	res := data.supply.lib.result.make(
		"slsa_build_scripted_build.image_built_by_trusted_task",
		"Image %q not built by a trusted task: %s",
		[_built_image(task), data.supply.lib.trusted.describe(task)],
	)
}

_built_image(task) := sprintf("%s@%s", [_repo(data.supply.lib.tekton.result_string(task, "IMAGE_URL")), data.supply.lib.tekton.result_string(task, "IMAGE_DIGEST")])

_reported_images(run) := {sprintf("%s@%s", [_repo(url), digest]) |
	some task in run.tasks
	some name, url in task.results
	is_string(url)
	endswith(name, "IMAGE_URL")
	digest := data.supply.lib.tekton.result_string(task, concat("", [trim_suffix(name, "IMAGE_URL"), "IMAGE_DIGEST"]))
	digest != ""
} | {sprintf("%s@%s", [parts.repo, parts.digest]) |
	some task in run.tasks
	some ref in split(data.supply.lib.tekton.result_string(task, "IMAGES"), ",")
	parts := data.supply.lib.image.parse(trim_space(ref))
	parts.digest != ""
}

_repo(url) := data.supply.lib.image.parse(url).repo

_subject_ref(subject) := sprintf("%s@sha256:%s", [subject.name, subject.digest.sha256]) if {
	is_string(subject.name)
	is_string(subject.digest.sha256)
} else := sprintf("%v", [subject])
