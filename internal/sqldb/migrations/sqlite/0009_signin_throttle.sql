-- Failed sign-ins (portal passwords, OSB basic auth), counted in the
-- database so that every replica slows the same guesser. key is a hash of
-- what is counted: an account, a client address, or the pair.
CREATE TABLE signin_failures (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMP NOT NULL
);
CREATE INDEX signin_failures_last ON signin_failures(last_failure_at);
