# A denial that only takes effect in 2099: before then it is reported as a warning.
package main

import rego.v1

deny contains {"msg": "Fails in 2099", "effective_on": "2099-01-01T00:00:00Z"}
