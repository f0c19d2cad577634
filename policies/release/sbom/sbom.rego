# METADATA
# title: SBOM
# description: >-
#   Checks that the image has an attested SBOM (a CycloneDX or SPDX in-toto statement) and that
#   the SBOM rule data is well formed. Disallowed packages and attributes are checked per
#   format in the sbom_cyclonedx and sbom_spdx packages.
# custom:
#   rule_data:
#   - disallowed_packages
#   - disallowed_attributes
package sbom

import rego.v1

# METADATA
# title: Found
# description: >-
#   At least one attestation of the image is an SBOM: predicate type
#   `https://cyclonedx.org/bom` (or a CycloneDX document) or `https://spdx.dev/Document`.
# custom:
#   short_name: found
#   failure_msg: No SBOM attestations found
#   solution: >-
#     Attest the image's SBOM (`konflux-supply attest --type cyclonedx|spdx`, or
#     `cosign attest --type cyclonedx|spdxjson`). An SBOM only referenced by a task result
#     (SBOM_BLOB_URL) is not read: policies here make no network calls.
#   collections:
#   - konflux
deny contains res if {
	count(data.supply.lib.sbom.all_sboms) == 0
	res := data.supply.lib.result.make("sbom.found", "No SBOM attestations found", [])
}

# METADATA
# title: Disallowed packages list is provided
# description: >-
#   The `disallowed_packages` rule data is a list of `{purl, format?, min?, max?, exceptions?}`
#   and `disallowed_attributes` a list of `{name, value?, effective_on?}`.
# custom:
#   short_name: disallowed_packages_provided
#   failure_msg: '%s'
#   solution: Fix the `disallowed_packages` and `disallowed_attributes` rule data.
#   collections:
#   - konflux
#   rule_data:
#   - disallowed_packages
#   - disallowed_attributes
deny contains res if {
	some message in data.supply.lib.sbom.rule_data_errors
	res := data.supply.lib.result.with_severity(data.supply.lib.result.make("sbom.disallowed_packages_provided", "%s", [message]), "failure")
}
