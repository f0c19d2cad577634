# METADATA
# title: minimal
# description: >-
#   The smallest useful set: the image has a PipelineRun provenance attestation of a known
#   statement and predicate type, the pipeline ran tasks, and the provenance records the source
#   as a git commit that the git-clone task fetched.
package collection.minimal

import rego.v1
