-- Grants to groups (issue 19): a role granted to an assignment group (or a
-- group an identity provider pushes over SCIM) applies to its members while
-- they are members. effective_grants is every role a user holds, given to
-- them or through a group: what decides who may approve, whom a notice
-- tells, and (in the identity service) a principal's grants.
CREATE TABLE group_grants (
    id         TEXT PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES assignment_groups(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_id   TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (group_id, role, scope_kind, scope_id)
);
CREATE INDEX group_grants_scope ON group_grants(scope_kind, scope_id);

CREATE VIEW effective_grants AS
    SELECT user_id, role, scope_kind, scope_id, '' AS group_id FROM grants
    UNION ALL
    SELECT gm.user_id, gg.role, gg.scope_kind, gg.scope_id, gg.group_id
    FROM group_grants gg JOIN group_members gm ON gm.group_id = gg.group_id;
