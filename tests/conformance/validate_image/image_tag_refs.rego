# Lists the cosign tag-based artifacts of the image with ec.oci.image_tag_refs.
package tag_refs

import rego.v1

_refs := ec.oci.image_tag_refs(input.image.ref)

_tag(ref) := tag if {
	parts := split(ref, ":")
	tag := parts[count(parts) - 1]
}

_well_formed(ref) if {
	startswith(_tag(ref), "sha256-")
	endswith(_tag(ref), ".sig")
}

_well_formed(ref) if {
	startswith(_tag(ref), "sha256-")
	endswith(_tag(ref), ".att")
}

# METADATA
# custom:
#   short_name: count
deny contains result if {
	count(_refs) != 2
	result := {"code": "tag_refs.count", "msg": sprintf("Expected 2 tag-based artifact references, got %d: %v", [count(_refs), _refs])}
}

# METADATA
# custom:
#   short_name: format
deny contains {"code": "tag_refs.format", "msg": sprintf("Invalid tag reference format in: %v", [_refs])} if {
	some ref in _refs
	not _well_formed(ref)
}

# METADATA
# custom:
#   short_name: sig_count
deny contains {"code": "tag_refs.sig_count", "msg": sprintf("Expected 1 .sig reference, got %d", [n])} if {
	n := count([r | some r in _refs; endswith(r, ".sig")])
	n != 1
}

# METADATA
# custom:
#   short_name: att_count
deny contains {"code": "tag_refs.att_count", "msg": sprintf("Expected 1 .att reference, got %d", [n])} if {
	n := count([r | some r in _refs; endswith(r, ".att")])
	n != 1
}
