-- Machine users (the users OSB platforms order as) never sign in to the
-- portal: they have no password, and none can be set. Platforms registered
-- before this had one derived from their OSB password: it is removed, and
-- every session and API token made with it ends.
ALTER TABLE users ADD COLUMN machine BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET machine = TRUE, password_hash = NULL WHERE id IN (SELECT user_id FROM platforms);
DELETE FROM sessions WHERE user_id IN (SELECT user_id FROM platforms);
DELETE FROM api_tokens WHERE user_id IN (SELECT user_id FROM platforms);
