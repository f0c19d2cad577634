# Lists the image's OCI 1.1 referrers with ec.oci.image_referrers: one cosign signature and
# one cosign attestation, each a descriptor with a pinned reference.
package referrers

import rego.v1

_referrers := ec.oci.image_referrers(input.image.ref)

_well_formed(d) if {
	startswith(d.digest, "sha256:")
	d.mediaType != ""
	d.size >= 0
	d.artifactType != ""
	[_, digest] := split(d.ref, "@")
	digest == d.digest
}

_count(kind) := count([d | some d in _referrers; d.artifactType == kind])

# METADATA
# custom:
#   short_name: format
deny contains {"code": "referrers.format", "msg": sprintf("Invalid referrer descriptor format in: %v", [_referrers])} if {
	some d in _referrers
	not _well_formed(d)
}

# METADATA
# custom:
#   short_name: content_types
deny contains {"code": "referrers.content_types", "msg": sprintf("Expected one signature and one attestation referrer: %v", [_referrers])} if {
	not _count("application/vnd.dev.cosign.artifact.sig.v1+json") == 1
}

deny contains {"code": "referrers.content_types", "msg": sprintf("Expected one signature and one attestation referrer: %v", [_referrers])} if {
	not _count("application/vnd.dev.cosign.artifact.att.v1+json") == 1
}
