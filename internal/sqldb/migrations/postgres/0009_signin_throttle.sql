-- Sign-in attempts (portal passwords, OSB basic auth), counted in the
-- database so that every replica slows the same guesser. key is a hash of
-- what is counted: an account, a client address, or the pair. An attempt
-- is counted before its secret is checked (and taken back when it was
-- right), so parallel attempts cannot all pass one check.
CREATE TABLE signin_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_failures_last ON signin_failures(last_failure_at);

-- Pairs of account and client address that signed in: the account-wide
-- count, which a guesser anywhere can drive, does not slow them.
CREATE TABLE signin_known (
    key          TEXT PRIMARY KEY,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_known_last ON signin_known(last_seen_at);
