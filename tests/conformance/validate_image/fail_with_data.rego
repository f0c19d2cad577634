# Always denies, with a reason read from the data sources.
package main

import rego.v1

deny contains sprintf("Failure due to %s", [data.rule_data.banana_fail_reason])
