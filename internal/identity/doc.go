// Package identity holds who is who at Steward's IT provider: org units (the
// customer tree of business units, departments, cost centres, geographies
// and external customers), users, the grants that give users roles on a
// scope, assignment groups (the teams that do the work), and how people
// prove who they are: passwords (Argon2id) with an optional TOTP second
// factor (totp.go), server-side sessions for the portal and hashed,
// expiring, revocable API tokens.
//
// Every exported Service method takes the calling *access.Principal and
// checks it before reading or writing, so the API, the portal, the CLI and
// the jobs agree; every mutation writes its audit record in the same
// transaction. Authenticating (Login, SessionPrincipal, TokenPrincipal)
// turns credentials into a Principal carrying the user's grants.
package identity
