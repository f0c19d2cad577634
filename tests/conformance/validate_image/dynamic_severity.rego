# Results that ask for another severity than the rule kind that produced them.
package main

import rego.v1

deny contains {"msg": "Failure to warning", "severity": "warning"}

deny contains {"msg": "Failure to failure", "severity": "failure"}

warn contains {"msg": "Warning to failure", "severity": "failure"}

warn contains {"msg": "Warning to warning", "severity": "warning"}
