# METADATA
# title: SBOM CycloneDX
# description: Checks the packages of attested CycloneDX SBOMs against the SBOM rule data.
# custom:
#   rule_data:
#   - disallowed_packages
#   - disallowed_attributes
package sbom_cyclonedx

import rego.v1

# METADATA
# title: Allowed
# description: No component's purl matches an entry of the `disallowed_packages` rule data.
# custom:
#   short_name: allowed
#   failure_msg: 'Package is not allowed: %s'
#   solution: Remove the package from the image, or update it to an allowed version.
#   collections:
#   - konflux
#   rule_data:
#   - disallowed_packages
deny contains res if {
	some doc in data.supply.lib.attestations.cyclonedx_sboms
	some component in data.supply.lib.sbom.cyclonedx_components(doc)
	purl := data.supply.lib.sbom.cyclonedx_purl(component)
	data.supply.lib.sbom.disallowed_match(purl)
	res := data.supply.lib.result.with_term("sbom_cyclonedx.allowed", "Package is not allowed: %s", [purl], purl)
}

# METADATA
# title: Disallowed package attributes
# description: No component has a property listed in the `disallowed_attributes` rule data.
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
	some doc in data.supply.lib.attestations.cyclonedx_sboms
	some component in data.supply.lib.sbom.cyclonedx_components(doc)
	some match in data.supply.lib.sbom.disallowed_attributes(data.supply.lib.sbom.cyclonedx_attributes(component))
	name := _package_name(component)
	res := data.supply.lib.result.dated_with_term(
		"sbom_cyclonedx.disallowed_package_attributes",
		"Package %s has the attribute %q set%s",
		[name, match.name, data.supply.lib.sbom.value_suffix(match)],
		match.name,
		"2024-07-31T00:00:00Z",
	)
}

_package_name(component) := purl if {
	purl := data.supply.lib.sbom.cyclonedx_purl(component)
	purl != ""
} else := object.get(component, "name", "(unnamed)")
