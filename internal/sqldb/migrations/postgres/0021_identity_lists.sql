-- Paging (issue 18): the keyset orders of the identity and platform lists.
CREATE INDEX assignment_groups_name_id ON assignment_groups (name, id);
DROP INDEX api_tokens_user;
CREATE INDEX api_tokens_user_id ON api_tokens (user_id, id);
CREATE INDEX audit_log_at ON audit_log (at);
