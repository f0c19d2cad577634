# Fetches a blob stored beside the image with ec.oci.blob.
package blobby

import rego.v1

# sha256 of the four bytes "spam"
_blob := sprintf("%s@sha256:4e388ab32b10dc8dbc7e28144f552830adc74787c1e2c0824032078a79f227fb", [split(input.image.ref, "@")[0]])

# METADATA
# custom:
#   short_name: spam
deny contains result if {
	content := ec.oci.blob(_blob)
	content != "spam"
	result := {"code": "blobby.spam_success", "msg": sprintf("Unexpected content %q for blob at %q", [content, _blob])}
}

# METADATA
# custom:
#   short_name: fetchable
deny contains {"code": "blobby.fetchable", "msg": sprintf("Cannot fetch blob at %q", [_blob])} if {
	not ec.oci.blob(_blob)
}
