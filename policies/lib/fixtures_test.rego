# Builders for test inputs: SLSA v0.2 and v1.0 PipelineRun provenance as Chains writes it.
# Used by the *_test.rego files of every package; holds no test rules itself.
package supply.lib.fixtures_test

import rego.v1

digest_a := "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

digest_b := "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

digest_c := "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

commit := "4015b57a143aec5156fd1444a017a32137a3fd0f"

repo_url := "https://git.example.com/team-a/app"

image_repo := "registry.example/team-a/app"

image_digest := digest_c

# A bundle reference of the example catalog, pinned to digest.
bundle(task_name, digest) := sprintf("registry.example/catalog/task-%s:0.1@%s", [task_name, digest])

# A SLSA v0.2 buildConfig task.
task_v02(name, task_name, bundle_ref, results) := {
	"name": name,
	"ref": {
		"resolver": "bundles",
		"params": [
			{"name": "name", "value": task_name},
			{"name": "bundle", "value": bundle_ref},
			{"name": "kind", "value": "task"},
		],
	},
	"results": [{"name": k, "type": "string", "value": v} | some k, v in results],
	"status": "Succeeded",
	"steps": [{"entryPoint": "run", "environment": {"container": "step-run", "image": "oci://registry.example/tools/run@sha256:dd"}}],
	"invocation": {
		"parameters": {},
		"environment": {"labels": {"tekton.dev/pipelineTask": name, "tekton.dev/task": task_name}},
	},
}

# A TaskRun as Chains' slsa-tekton build type embeds it in a v1.0 pipelineTask dependency.
taskrun(name, task_name, bundle_ref, results) := {
	"metadata": {
		"name": sprintf("run-%s", [name]),
		"labels": {"tekton.dev/pipelineTask": name, "tekton.dev/task": task_name},
	},
	"spec": {
		"params": [],
		"taskRef": {
			"resolver": "bundles",
			"params": [
				{"name": "bundle", "value": bundle_ref},
				{"name": "name", "value": task_name},
				{"name": "kind", "value": "task"},
			],
		},
	},
	"status": {
		"conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
		"results": [{"name": k, "type": "string", "value": v} | some k, v in results],
		"steps": [{"name": "run", "container": "step-run", "imageID": "registry.example/tools/run@sha256:dd"}],
		"taskSpec": {"steps": [{"name": "run", "image": "registry.example/tools/run:1", "script": "run"}]},
	},
}

# The v1.0 pipelineTask dependency of a TaskRun.
dependency(tr) := {
	"name": "pipelineTask",
	"uri": "registry.example/catalog/task",
	"digest": {"sha256": "ee"},
	"content": base64.encode(json.marshal(tr)),
}

# The usual tasks of a build: clone, build, scan.
results_clone := {"url": repo_url, "commit": commit}

results_build := {"IMAGE_URL": sprintf("%s:latest", [image_repo]), "IMAGE_DIGEST": image_digest}

standard_tasks_v02 := [
	task_v02("clone", "git-clone", bundle("git-clone", digest_a), results_clone),
	task_v02("build", "buildah", bundle("buildah", digest_b), results_build),
]

standard_taskruns := [
	taskrun("clone", "git-clone", bundle("git-clone", digest_a), results_clone),
	taskrun("build", "buildah", bundle("buildah", digest_b), results_build),
]

source_material := {"uri": sprintf("git+%s.git", [repo_url]), "digest": {"sha1": commit}}

subject := [{"name": image_repo, "digest": {"sha256": substring(image_digest, 7, -1)}}]

# A SLSA v0.2 PipelineRun provenance attestation with the given tasks.
att_v02(tasks) := {"statement": {
	"_type": "https://in-toto.io/Statement/v0.1",
	"predicateType": "https://slsa.dev/provenance/v0.2",
	"subject": subject,
	"predicate": {
		"builder": {"id": "https://tekton.dev/chains/v2"},
		"buildType": "tekton.dev/v1beta1/PipelineRun",
		"invocation": {"environment": {"labels": {"pipelines.openshift.io/runtime": "generic"}}},
		"buildConfig": {"tasks": tasks},
		"materials": [source_material],
	},
}}

# A SLSA v1.0 PipelineRun provenance attestation (slsa-tekton) with the given TaskRuns.
att_v1(taskruns) := {"statement": {
	"_type": "https://in-toto.io/Statement/v1",
	"predicateType": "https://slsa.dev/provenance/v1",
	"subject": subject,
	"predicate": {
		"buildDefinition": {
			"buildType": "https://tekton.dev/chains/v2/slsa-tekton",
			"externalParameters": {"runSpec": {"pipelineRef": {"name": "docker-build"}}},
			"internalParameters": {"labels": {"pipelines.openshift.io/runtime": "generic"}},
			"resolvedDependencies": array.concat(
				[dependency(tr) | some tr in taskruns],
				[object.union(source_material, {"name": "inputs/result"})],
			),
		},
		"runDetails": {"builder": {"id": "https://tekton.dev/chains/v2"}},
	},
}}

input_v02 := {"attestations": [att_v02(standard_tasks_v02)], "image": {"ref": sprintf("%s@%s", [image_repo, image_digest])}}

input_v1 := {"attestations": [att_v1(standard_taskruns)], "image": {"ref": sprintf("%s@%s", [image_repo, image_digest])}}

# The input with the first attestation's predicate merged (recursively) with patch.
with_predicate(inp, patch) := with_statement(inp, {"predicate": object.union(inp.attestations[0].statement.predicate, patch)})

# The input with the first attestation's predicate key replaced by value.
set_predicate_key(inp, key, value) := with_statement(inp, {"predicate": object.union(
	object.remove(inp.attestations[0].statement.predicate, {key}),
	{key: value},
)})

# The input with keys of the first attestation's statement replaced.
with_statement(inp, fields) := object.union(inp, {"attestations": [{
	"statement": object.union(object.remove(inp.attestations[0].statement, object.keys(fields)), fields),
	"signatures": [],
}]})

# The set of codes in a set of results.
codes(results) := {r.code | some r in results}

# trusted_tasks data that trusts the standard tasks.
trusted_tasks := {
	"oci://registry.example/catalog/task-git-clone:0.1": [{"ref": digest_a, "effective_on": "2024-01-01T00:00:00Z"}],
	"oci://registry.example/catalog/task-buildah:0.1": [{"ref": digest_b}],
}

# 2026-01-01T00:00:00Z in nanoseconds, the effective time of the tests that need one.
when_ns := 1767225600000000000

# A CycloneDX SBOM attestation with the given components.
cyclonedx_attestation(components) := {"statement": {
	"_type": "https://in-toto.io/Statement/v0.1",
	"predicateType": "https://cyclonedx.org/bom",
	"subject": subject,
	"predicate": {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components},
}}

# An SPDX SBOM attestation with the given packages.
spdx_attestation(packages) := {"statement": {
	"_type": "https://in-toto.io/Statement/v0.1",
	"predicateType": "https://spdx.dev/Document",
	"subject": subject,
	"predicate": {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": packages},
}}

# A CycloneDX component with a purl and properties.
component(purl, properties) := {"type": "library", "name": purl, "purl": purl, "properties": properties}

# An SPDX package with a purl and JSON annotations.
spdx_package(purl, attributes) := {
	"SPDXID": "SPDXRef-package",
	"name": purl,
	"externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}],
	"annotations": [{"annotator": "Tool: test", "annotationType": "OTHER", "comment": json.marshal(a)} | some a in attributes],
}

input_with_sboms := {"attestations": array.concat(input_v02.attestations, [
	cyclonedx_attestation([component("pkg:golang/k8s.io/client-go@v0.28.3", [])]),
	spdx_attestation([spdx_package("pkg:npm/%40babel/core@7.29.0", [])]),
])}
