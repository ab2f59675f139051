-- Directory sync over SCIM 2.0 (issue 19). A user or group an identity
-- provider pushed is linked here: its externalId (the directory's own
-- identifier), and whether the directory deleted it. Steward keeps a
-- deleted user (disabled: their orders, instances and audit trail stay)
-- but SCIM answers 404 for it, as RFC 7644 section 3.6 allows.
CREATE TABLE directory_links (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    external_id TEXT NOT NULL DEFAULT '',
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX directory_links_external ON directory_links (kind, external_id);
