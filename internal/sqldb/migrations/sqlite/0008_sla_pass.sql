-- One compliance pass at a time across replicas: a pass holds this lease
-- while it runs (a scheduled pass and one a change asked for may otherwise
-- overlap and race on the same credits).
CREATE TABLE sla_pass (
    id     INTEGER PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TIMESTAMP NOT NULL
);
