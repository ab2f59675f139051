-- The outbox and notifications (issue 19). Domain services write an
-- outbox event in the transaction of the change that causes it; the
-- dispatcher turns each event, in seq order and exactly once, into
-- notifications (and webhook deliveries), and the mailer sends the mails.
CREATE TABLE outbox_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    actor_id      TEXT NOT NULL,
    org_unit_id   TEXT NOT NULL DEFAULT '',
    service_id    TEXT NOT NULL DEFAULT '',
    data_json     TEXT NOT NULL,
    notice_json   TEXT NOT NULL DEFAULT '',
    dispatched_at TIMESTAMPTZ
);
CREATE INDEX outbox_events_pending ON outbox_events (seq) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_at ON outbox_events (at);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT NOT NULL,
    -- the approval the recipient may decide from the mail, if any
    approval_id TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    read_at    TIMESTAMPTZ,
    UNIQUE (event_id, user_id)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE notification_mails (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    digest          BOOLEAN NOT NULL DEFAULT FALSE,
    status          TEXT NOT NULL,
    run_at          TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notification_mails_due ON notification_mails (run_at) WHERE status = 'queued';
CREATE INDEX notification_mails_created ON notification_mails (created_at, id);

CREATE TABLE notification_preferences (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    muted_json TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Links in mails that act without a session: deciding an approval,
-- unsubscribing. Only the token's SHA-256 is kept.
CREATE TABLE email_actions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX email_actions_expires ON email_actions (expires_at);
