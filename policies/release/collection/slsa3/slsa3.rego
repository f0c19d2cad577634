# METADATA
# title: slsa3
# description: >-
#   Rules that check what SLSA v1.0 Build L3 asks of the provenance of a Tekton build: it is
#   SLSA provenance from an accepted build service (builder id), the image was built by a
#   scripted build task and is the attestation's subject, and the source is version controlled
#   and pinned to a commit.
package collection.slsa3

import rego.v1
