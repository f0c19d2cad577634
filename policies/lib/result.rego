# METADATA
# title: Result helpers
# description: >-
#   Build the result objects every release rule emits. Rules pass their code and the same
#   format string as their `custom.failure_msg` annotation, so the engine can enrich a result
#   from the annotations without `rego.metadata.chain()` (which the embedded engine lacks).
package supply.lib.result

import rego.v1

# The date a rule takes effect when its annotations give none (as Conforma).
default_effective_on := "2022-01-01T00:00:00Z"

# A result with a code, a formatted message and the default effective date.
make(code, fmt, params) := {
	"code": code,
	"msg": sprintf(fmt, params),
	"effective_on": default_effective_on,
}

# As make, with the term that `exclude: ["pkg.rule:term"]` matches.
with_term(code, fmt, params, term) := object.union(make(code, fmt, params), {"term": term})

# As make, for a rule annotated with `custom.effective_on`.
dated(code, fmt, params, effective_on) := {
	"code": code,
	"msg": sprintf(fmt, params),
	"effective_on": effective_on,
}

# As dated, with a term.
dated_with_term(code, fmt, params, term, effective_on) := object.union(
	dated(code, fmt, params, effective_on),
	{"term": term},
)

# A result whose severity ("warning" or "failure") overrides its rule kind.
with_severity(result, severity) := object.union(result, {"severity": severity})
