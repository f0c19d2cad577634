# Reads the image's and its parent's config labels from input.image.
package image_config

import rego.v1

_title := "org.opencontainers.image.title"

# METADATA
# title: Image Title Label
# description: Check if the image has the org.opencontainers.image.title label set.
# custom:
#   short_name: image_title_set
#   failure_msg: Missing image title label
deny contains {"code": "image_config.image_title_set", "msg": "Missing image title label"} if {
	not input.image.config.Labels[_title]
}

# METADATA
# title: Parent Image Title Label
# description: Check if the parent image has the org.opencontainers.image.title label set.
# custom:
#   short_name: parent_image_title_set
#   failure_msg: Missing parent image title label
deny contains {"code": "image_config.parent_image_title_set", "msg": "Missing parent image title label"} if {
	not input.image.parent.config.Labels[_title]
}

# METADATA
# title: Image Distinct Title Label
# description: >-
#   Check if the image has a different value than its parent image for
#   the org.opencontainers.image.title label.
# custom:
#   short_name: image_distinct_title_set
#   failure_msg: Image does not have a distinct title
deny contains {"code": "image_config.image_distinct_title_set", "msg": "Image does not have a distinct title"} if {
	input.image.config.Labels[_title] == input.image.parent.config.Labels[_title]
}
