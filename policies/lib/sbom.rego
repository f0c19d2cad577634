# METADATA
# title: SBOM helpers
# description: >-
#   Packages of the attested SBOMs (CycloneDX and SPDX), package URL parsing, and the
#   `disallowed_packages` / `disallowed_attributes` rule data: a package is disallowed when its
#   purl has the type, namespace and name of an entry and its version is within the entry's
#   `min`/`max` (semver; any version when neither is given), unless a listed exception's
#   `subpath` matches; an attribute is disallowed when a package has a property (CycloneDX) or a
#   JSON annotation `{"name", "value"}` (SPDX) with the entry's name (and value, when given).
package supply.lib.sbom

import rego.v1

# CycloneDX components (top level and one level of nesting) that are objects.
cyclonedx_components(doc) := array.concat(top, nested) if {
	top := [c | some c in _list(object.get(doc, "components", [])); is_object(c)]
	nested := [n | some c in top; some n in _list(object.get(c, "components", [])); is_object(n)]
}

# SPDX packages that are objects.
spdx_packages(doc) := [p | some p in _list(object.get(doc, "packages", [])); is_object(p)]

# The purl of a CycloneDX component or SPDX package ("" when none).
cyclonedx_purl(c) := purl if {
	purl := c.purl
	is_string(purl)
} else := ""

spdx_purls(p) := [ref.referenceLocator |
	some ref in _list(object.get(p, "externalRefs", []))
	is_object(ref)
	ref.referenceType == "purl"
	is_string(ref.referenceLocator)
]

# {type, namespace, name, version, subpath} of a package URL; undefined when not one.
parse_purl(purl) := {
	"type": lower(segments[0]),
	"namespace": concat("/", [urlquery.decode(s) | some s in array.slice(segments, 1, count(segments) - 1)]),
	"name": urlquery.decode(segments[count(segments) - 1]),
	"version": version,
	"subpath": subpath,
} if {
	is_string(purl)
	startswith(purl, "pkg:")
	hash_parts := split(trim_prefix(purl, "pkg:"), "#")
	subpath := concat("/", [urlquery.decode(s) | some s in split(_second(hash_parts), "/")])
	path_version := _split_version(split(hash_parts[0], "?")[0])
	version := urlquery.decode(path_version[1])
	segments := [s | some s in split(trim_left(path_version[0], "/"), "/"); s != ""]
	count(segments) >= 2
}

# [path, version]: the version follows the last "@" that is after the last "/".
_split_version(text) := [concat("@", array.slice(parts, 0, count(parts) - 1)), last] if {
	parts := split(text, "@")
	count(parts) > 1
	last := parts[count(parts) - 1]
	not contains(last, "/")
} else := [text, ""]

_second(parts) := parts[1] if count(parts) > 1

else := ""

# The disallowed_packages entry (with index) a purl matches, if any.
disallowed_match(purl) := entry if {
	p := parse_purl(purl)
	some entry in _list(data.supply.lib.rule_data.get("disallowed_packages"))
	is_object(entry)
	d := parse_purl(entry.purl)
	d.type == p.type
	d.namespace == p.namespace
	d.name == p.name
	_in_range(p.version, entry)
	not _excepted(p, entry)
}

_in_range(_, entry) if {
	not "min" in object.keys(entry)
	not "max" in object.keys(entry)
}

_in_range(version, entry) if {
	_has_bound(entry)
	v := _semver(version)
	_above_min(v, entry)
	_below_max(v, entry)
}

_has_bound(entry) if "min" in object.keys(entry)

_has_bound(entry) if "max" in object.keys(entry)

_above_min(_, entry) if not "min" in object.keys(entry)

_above_min(v, entry) if semver.compare(v, _semver(entry.min)) >= 0

_below_max(_, entry) if not "max" in object.keys(entry)

_below_max(v, entry) if semver.compare(v, _semver(entry.max)) <= 0

_semver(value) := v if {
	is_string(value)
	v := trim_prefix(value, "v")
	semver.is_valid(v)
}

_excepted(p, entry) if {
	some exception in _list(object.get(entry, "exceptions", []))
	is_object(exception)
	exception.subpath == p.subpath
}

# The disallowed_attributes entries that a list of {name, value} attributes sets.
disallowed_attributes(attrs) := [{"name": a.name, "value": a.value, "entry": entry} |
	some entry in _list(data.supply.lib.rule_data.get("disallowed_attributes"))
	is_object(entry)
	is_string(entry.name)
	_in_effect(entry)
	some a in attrs
	a.name == entry.name
	_value_matches(a, entry)
]

_in_effect(entry) if not "effective_on" in object.keys(entry)

_in_effect(entry) if data.supply.lib.time.parse_ns(entry.effective_on) <= data.supply.lib.time.effective_ns

_value_matches(_, entry) if not "value" in object.keys(entry)

_value_matches(a, entry) if a.value == entry.value

# {name, value} attributes of a CycloneDX component (its properties).
cyclonedx_attributes(c) := [{"name": prop.name, "value": object.get(prop, "value", "")} |
	some prop in _list(object.get(c, "properties", []))
	is_object(prop)
	is_string(prop.name)
]

# {name, value} attributes of an SPDX package (annotations whose comment is JSON {name, value}).
spdx_attributes(p) := [{"name": attr.name, "value": object.get(attr, "value", "")} |
	some annotation in _list(object.get(p, "annotations", []))
	is_object(annotation)
	is_string(annotation.comment)
	json.is_valid(annotation.comment)
	attr := json.unmarshal(annotation.comment)
	is_object(attr)
	is_string(attr.name)
]

# How a matching disallowed attribute reads in a message: `: "value"` or "".
value_suffix(match) := sprintf(": %q", [match.value]) if {
	"value" in object.keys(match.entry)
} else := ""

# Problems with the disallowed_packages and disallowed_attributes rule data.
rule_data_errors contains msg if {
	some key in ["disallowed_packages", "disallowed_attributes"]
	not is_array(data.supply.lib.rule_data.get(key))
	msg := sprintf("Rule data %s has unexpected format: not a list", [key])
}

rule_data_errors contains msg if {
	some i, entry in _list(data.supply.lib.rule_data.get("disallowed_packages"))
	some problem in _package_entry_problems(entry)
	msg := sprintf("Rule data disallowed_packages has unexpected format: [%d]: %s", [i, problem])
}

rule_data_errors contains msg if {
	some i, entry in _list(data.supply.lib.rule_data.get("disallowed_attributes"))
	some problem in _attribute_entry_problems(entry)
	msg := sprintf("Rule data disallowed_attributes has unexpected format: [%d]: %s", [i, problem])
}

_package_entry_problems(entry) := {"not an object"} if {
	not is_object(entry)
} else := ({"purl is not a package URL" | not parse_purl(object.get(entry, "purl", null))} | {sprintf("%s is not a semantic version", [k]) |
	some k in ["min", "max"]
	k in object.keys(entry)
	not _semver(entry[k])
}) | {"format must be semver or semverv" |
	"format" in object.keys(entry)
	not entry.format in {"semver", "semverv"}
}

_attribute_entry_problems(entry) := {"not an object"} if {
	not is_object(entry)
} else := {"name is not a string" | not is_string(object.get(entry, "name", null))} | {"effective_on is not an RFC 3339 date-time" |
	"effective_on" in object.keys(entry)
	not data.supply.lib.time.is_rfc3339(entry.effective_on)
}

# All SBOM documents of the input.
all_sboms := array.concat(data.supply.lib.attestations.cyclonedx_sboms, data.supply.lib.attestations.spdx_sboms)

_list(value) := value if is_array(value)

else := []
