# One unconditional warning, a plain string result.
package main

import rego.v1

warn contains "Has a warning"
