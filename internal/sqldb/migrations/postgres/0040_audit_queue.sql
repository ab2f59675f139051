-- Audit records wait here, written in the transaction of the change they
-- record, until the sealer chains them into audit_log (issue 20: every
-- writer queued on audit_head's row lock, held to its commit). queued is
-- a sequence: taking a number locks nothing.
CREATE TABLE audit_queue (
    queued      BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    before_json TEXT NOT NULL,
    after_json  TEXT NOT NULL,
    request_id  TEXT NOT NULL
);
