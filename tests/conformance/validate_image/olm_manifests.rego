# Reads the OLM bundle manifests the CLI puts in input.image.files.
package olm_manifests

import rego.v1

# METADATA
# title: Manifests are there
# custom:
#   short_name: olm_manifests
#   failure_msg: Missing OLM manifests
deny contains {"code": "olm_manifests.olm_manifests", "msg": "Missing OLM manifests"} if {
	not input.image.files
}

# METADATA
# title: Expecting OLM CSV
# custom:
#   short_name: olm_manifest_csv
#   failure_msg: Missing OLM CSV manifest
deny contains {"code": "olm_manifests.olm_manifest_csv", "msg": "Missing OLM CSV manifest"} if {
	csv := input.image.files["manifests/some.clusterserviceversion.yaml"]
	csv.apiVersion != "operators.coreos.com/v1alpha1"
	csv.kind != "ClusterServiceVersion"
}
