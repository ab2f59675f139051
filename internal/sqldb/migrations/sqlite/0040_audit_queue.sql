-- The audit queue of PostgreSQL (its 0040): SQLite's one writer chains
-- each record in the transaction that writes it, so this stays empty.
CREATE TABLE audit_queue (
    queued      INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
