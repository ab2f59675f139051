// Package sso signs people in to Steward's portal through their
// organisation's identity providers, with OpenID Connect: the authorization
// code flow with PKCE (S256), the provider's discovery document, and the ID
// token checked for its signature, issuer, audience, expiry and nonce.
//
// Administrators (identity_provider.manage) register providers: issuer,
// client ID and secret (sealed at rest with the secret box that seals
// provider credentials), scopes, and mapping rules. A rule matches a claim
// of the person signing in (groups, department, the email's domain, or any
// claim by equality or substring) and gives a home org unit and role
// grants. Rules are evaluated at every sign-in: identity.SignInExternal
// adds the grants they give, takes back those they gave before and no
// longer give, and leaves grants given by hand alone. Preview shows what a
// set of claims would map to without changing anything.
//
// The flow's state, nonce and PKCE verifier travel in a sealed, HttpOnly
// cookie of the browser that started it, valid ten minutes: a callback from
// another browser, with another state, or an ID token with another nonce is
// refused. Where the browser goes after signing in is checked by the portal
// (a path on this site only).
package sso
