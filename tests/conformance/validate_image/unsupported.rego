# A boolean deny rule: not a set of results, so not something a report can hold.
package unsupported

import rego.v1

deny if {
	1 == 1
}
