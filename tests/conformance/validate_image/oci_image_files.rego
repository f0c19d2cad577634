# Reads YAML files of the image's layers under manifests/ with ec.oci.image_files.
package files

import rego.v1

_expected(files) if {
	crd := files["manifests/some.crd.yaml"]
	crd.kind == "CustomResourceDefinition"
	crd.spec.names.singular == "memcached"
	csv := files["manifests/some.clusterserviceversion.yaml"]
	csv.kind == "ClusterServiceVersion"
	csv.spec.displayName == "Memcached Operator"
}

# METADATA
# custom:
#   short_name: match
deny contains {"code": "files.match", "msg": json.marshal(files)} if {
	files := ec.oci.image_files(input.image.ref, ["manifests"])
	not _expected(files)
}
