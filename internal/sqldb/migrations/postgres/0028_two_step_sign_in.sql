-- Two-step sign-in (issue 19): a TOTP second factor (RFC 6238) for people
-- who sign in with a Steward password. Single sign-on users get theirs
-- from their identity provider.
--
-- A user's TOTP secret (base32, sealed with the secret key: secret.Box),
-- pending until a first code confirms it. last_step is the time step
-- (Unix time / 30) of the last code accepted: a code is never accepted
-- twice, nor one of an earlier step.
CREATE TABLE user_totp (
    user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL
);

-- Recovery codes, stored hashed (SHA-256): each signs in once instead of
-- a code from the authenticator app.
CREATE TABLE totp_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, hash)
);

-- Sign-ins waiting for their second factor after a right password: the
-- hash of the secret the sign-in page carries, for a few minutes and a
-- few attempts.
CREATE TABLE signin_pending (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX signin_pending_user ON signin_pending(user_id);
CREATE INDEX signin_pending_expires ON signin_pending(expires_at);
