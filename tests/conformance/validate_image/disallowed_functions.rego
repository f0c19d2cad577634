# METADATA
# title: Capabilities
# description: Uses built-in functions a release policy must not reach.
package capabilities

import rego.v1

# METADATA
# title: reads the environment
deny contains "environment" if {
	opa.runtime().env.SECRET_TOKEN
}

# METADATA
# title: calls out over HTTP
deny contains "http" if {
	http.send({"url": "http://127.0.0.1:9/leak", "method": "GET"})
}

# METADATA
# title: resolves names
deny contains "dns" if {
	net.lookup_ip_addr("example.invalid")
}
