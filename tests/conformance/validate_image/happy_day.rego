# A rule that never denies: every run reports it as a success.
package main

import rego.v1

# METADATA
# title: Allow rule
# description: This rule will never fail
# custom:
#   short_name: acceptor
#   failure_msg: Always succeeds
#   solution: Easy
#   collections:
#   - A
deny contains msg if {
	1 == 2
	msg := "unreachable"
}
