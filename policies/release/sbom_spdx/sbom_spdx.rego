# METADATA
# title: SBOM SPDX
# description: Checks the packages of attested SPDX SBOMs against the SBOM rule data.
# custom:
#   rule_data:
#   - disallowed_packages
#   - disallowed_attributes
package sbom_spdx

import rego.v1

# METADATA
# title: Allowed
# description: No package's purl matches an entry of the `disallowed_packages` rule data.
# custom:
#   short_name: allowed
#   failure_msg: 'Package is not allowed: %s'
#   solution: Remove the package from the image, or update it to an allowed version.
#   collections:
#   - konflux
#   rule_data:
#   - disallowed_packages
deny contains res if {
	some doc in data.supply.lib.attestations.spdx_sboms
	some pkg in data.supply.lib.sbom.spdx_packages(doc)
	some purl in data.supply.lib.sbom.spdx_purls(pkg)
	data.supply.lib.sbom.disallowed_match(purl)
	res := data.supply.lib.result.with_term("sbom_spdx.allowed", "Package is not allowed: %s", [purl], purl)
}

# METADATA
# title: Disallowed package attributes
# description: >-
#   No package has a JSON annotation `{"name", "value"}` listed in the `disallowed_attributes`
#   rule data.
# custom:
#   short_name: disallowed_package_attributes
#   failure_msg: Package %s has the attribute %q set%s
#   solution: Rebuild without the feature the attribute marks (for example a non-hermetic prefetch).
#   collections:
#   - konflux
#   effective_on: 2024-07-31T00:00:00Z
#   rule_data:
#   - disallowed_attributes
deny contains res if {
	some doc in data.supply.lib.attestations.spdx_sboms
	some pkg in data.supply.lib.sbom.spdx_packages(doc)
	some match in data.supply.lib.sbom.disallowed_attributes(data.supply.lib.sbom.spdx_attributes(pkg))
	name := _package_name(pkg)
	res := data.supply.lib.result.dated_with_term(
		"sbom_spdx.disallowed_package_attributes",
		"Package %s has the attribute %q set%s",
		[name, match.name, data.supply.lib.sbom.value_suffix(match)],
		match.name,
		"2024-07-31T00:00:00Z",
	)
}

_package_name(pkg) := purls[0] if {
	purls := data.supply.lib.sbom.spdx_purls(pkg)
	count(purls) > 0
} else := object.get(pkg, "name", "(unnamed)")
