# METADATA
# title: Image references
# description: Split an image reference `repo[:tag][@digest]` into its parts.
package supply.lib.image

import rego.v1

_digest := `^sha256:[0-9a-f]{64}$`

# {"repo", "tag", "digest"} of an image reference (tag and digest "" when absent).
parse(ref) := {"repo": name_tag[0], "tag": name_tag[1], "digest": name_digest[1]} if {
	is_string(ref)
	name_digest := _split_digest(ref)
	name_tag := _split_tag(name_digest[0])
}

# Whether ref carries a sha256 digest (true or false; undefined when ref is not a string).
is_pinned(ref) := regex.match(_digest, parse(ref).digest)

_split_digest(ref) := [parts[0], parts[1]] if {
	parts := split(ref, "@")
	count(parts) == 2
} else := [ref, ""]

_split_tag(name) := [concat(":", array.slice(parts, 0, count(parts) - 1)), parts[count(parts) - 1]] if {
	regex.match(`:[^/:]+$`, name)
	parts := split(name, ":")
} else := [name, ""]

# True when ref's repository starts with one of prefixes.
has_prefix_in(ref, prefixes) if {
	is_array(prefixes)
	some prefix in prefixes
	is_string(prefix)
	startswith(ref, prefix)
}
