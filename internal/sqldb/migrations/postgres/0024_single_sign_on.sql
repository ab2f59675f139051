-- Single sign-on (issue 19): OpenID Connect identity providers with their
-- mapping rules, the external identities that sign in through them, the
-- grants their rules gave (so a later sign-in can take them back, leaving
-- grants given by hand alone), and whether local passwords are allowed.
CREATE TABLE identity_providers (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    issuer_url    TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    rules         TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE external_identities (
    provider_id   TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider_id, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);

CREATE TABLE rule_grants (
    grant_id    TEXT PRIMARY KEY REFERENCES grants(id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE
);
CREATE INDEX rule_grants_provider ON rule_grants (provider_id);

CREATE TABLE sign_in_settings (
    id              INTEGER PRIMARY KEY,
    local_passwords BOOLEAN NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
