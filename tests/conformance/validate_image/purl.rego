# Exercises ec.purl.is_valid and ec.purl.parse on a good and a bad package URL.
package purl

import rego.v1

_valid := "pkg:rpm/rhel/coreutils-single@8.32-34.el9?arch=x86_64&upstream=coreutils-8.32-34.el9.src.rpm&distro=rhel-9.3"

_invalid := "this-is-not-a-valid-purl"

# METADATA
# custom:
#   short_name: is_valid_fail
deny contains {"code": "purl.is_valid_fail", "msg": sprintf("PURL is invalid %q", [_invalid])} if {
	not ec.purl.is_valid(_invalid)
}

# METADATA
# custom:
#   short_name: parse_fail
deny contains {"code": "purl.parse_fail", "msg": sprintf("PURL can't be parsed %q", [_invalid])} if {
	not ec.purl.parse(_invalid)
}

# METADATA
# custom:
#   short_name: is_valid_pass
deny contains {"code": "purl.is_valid_pass", "msg": sprintf("PURL is invalid %q", [_valid])} if {
	not ec.purl.is_valid(_valid)
}

# METADATA
# custom:
#   short_name: parsed
deny contains result if {
	parsed := ec.purl.parse(_valid)

	# %q quotes strings only on the embedded engine: render the qualifiers first.
	qualifiers := sprintf("%v", [parsed.qualifiers])
	fields := [parsed.type, parsed.namespace, parsed.name, parsed.version, qualifiers, parsed.subpath]
	template := "PURL parsed as: type: %q, namespace: %q, name: %q, version: %q, qualifiers: %q, subpath: %q"
	result := {"code": "purl.parsed", "msg": sprintf(template, fields)}
}
