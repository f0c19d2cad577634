# Verifies the image's signatures and attestations again from Rego (ec.sigstore.*),
# with the options the CLI put in data.config.default_sigstore_opts.
package sigstore

import rego.v1

_opts := data.config.default_sigstore_opts

_image := info if {
	info := ec.sigstore.verify_image(input.image.ref, _opts)
}

_attestations := info if {
	info := ec.sigstore.verify_attestation(input.image.ref, _opts)
}

_well_typed(sig) if {
	is_string(sig.keyid)
	is_string(sig.signature)
	is_string(sig.certificate)
	is_array(sig.chain)
	is_object(sig.metadata)
}

_builder(att) := att.statement.predicate.builder.id

_builder(att) := att.statement.predicate.runDetails.builder.id

_slsa := {"https://slsa.dev/provenance/v0.2", "https://slsa.dev/provenance/v1"}

_problems contains "input.image.ref not set" if not input.image.ref

_problems contains "default sigstore options not set" if not _opts

_problems contains sprintf("image signature verification failed: %s", [e]) if some e in _image.errors

_problems contains "verification successful, but no image signatures found" if count(_image.signatures) == 0

_problems contains sprintf("not a valid image signature: %s", [sig]) if {
	some sig in _image.signatures
	not _well_typed(sig)
}

_problems contains sprintf("image attestation verification failed: %s", [e]) if some e in _attestations.errors

_problems contains "verification successful, but no attestations found" if count(_attestations.attestations) == 0

_problems contains sprintf("not a valid attestation signature: %s", [sig]) if {
	some att in _attestations.attestations
	some sig in att.signatures
	not _well_typed(sig)
}

_problems contains sprintf("unexpected statement predicate: %s", [att.statement.predicateType]) if {
	some att in _attestations.attestations
	not att.statement.predicateType in _slsa
}

_problems contains sprintf("unexpected builder ID: %s", [_builder(att)]) if {
	some att in _attestations.attestations
	_builder(att) != "https://tekton.dev/chains/v2"
}

# METADATA
# custom:
#   short_name: valid
deny contains {"code": "sigstore.valid", "msg": problem} if some problem in _problems
