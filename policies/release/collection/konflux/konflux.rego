# METADATA
# title: konflux
# description: >-
#   Everything a Konflux release needs: the minimal and slsa3 rules plus trusted and required
#   tasks, successful pipeline tasks, an attested SBOM without disallowed packages or
#   attributes, no blocking CVEs, base images from allowed registries and the required image
#   labels.
package collection.konflux

import rego.v1
