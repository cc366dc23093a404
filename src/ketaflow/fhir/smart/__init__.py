"""SMART Backend Services (SMART App Launch 2, "Backend Services"): system clients that read
the FHIR API without a user, by OAuth2 client credentials with a signed JWT assertion.

- `scopes`   PURE: `system/<Type>.read` (v1) and `.rs`/`.r`/`.s` (v2) parsed and compared
- `keys`     a pasted public key (JWK or PEM) -> the JWK stored and its one algorithm
- `models`   registered clients, the access tokens issued to them, assertion ids seen
- `service`  register, list, disable; check an assertion and issue a token; resolve a token
- `api`      the token endpoint and `/.well-known/smart-configuration` (thin)
- `routes`   the admin page (register, disable); `ketaflow fhir client` is in `fhir.cli`

docs/fhir.md ("Access") says what is supported.
"""
