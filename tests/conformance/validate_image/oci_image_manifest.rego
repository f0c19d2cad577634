# Reads the image's own manifest with ec.oci.image_manifest and checks its shape
# (the images of this suite are OCI manifests with two tar layers on a named base).
package manifest

import rego.v1

_described(descriptor, media_type) if {
	descriptor.mediaType == media_type
	regex.match(`^sha256:[0-9a-f]{64}$`, descriptor.digest)
	descriptor.size > 0
}

_expected(manifest) if {
	manifest.schemaVersion == 2
	manifest.mediaType == "application/vnd.oci.image.manifest.v1+json"
	manifest.annotations["org.opencontainers.image.base.name"] != ""
	_described(manifest.config, "application/vnd.oci.image.config.v1+json")
	count(manifest.layers) == 2
	every layer in manifest.layers {
		_described(layer, "application/vnd.oci.image.layer.v1.tar")
	}
}

# METADATA
# custom:
#   short_name: match
deny contains {"code": "manifest.match", "msg": json.marshal(manifest)} if {
	manifest := ec.oci.image_manifest(input.image.ref)
	not _expected(manifest)
}
