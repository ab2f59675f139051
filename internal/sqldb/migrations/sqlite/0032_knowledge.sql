-- Knowledge articles (issue 20): Markdown articles about a service that the
-- "get help" page suggests while people type (deflection), that agents
-- link to tickets, and that the service suggestion learns from. An
-- article is a draft, published (everyone who may read the catalog reads
-- it) or retired.
CREATE TABLE articles (
    id           TEXT PRIMARY KEY,
    number       INTEGER NOT NULL UNIQUE,
    service_id   TEXT NOT NULL REFERENCES services(id),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'draft',
    author_id    TEXT REFERENCES users(id),
    views        INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    published_at TIMESTAMP
);
CREATE INDEX articles_service ON articles(service_id, state, id);
CREATE INDEX articles_state ON articles(state, id);
INSERT INTO counters (name, value) VALUES ('article', 0);

-- The articles agents linked to a ticket: the answer, or the help given.
CREATE TABLE ticket_articles (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    linked_by  TEXT REFERENCES users(id),
    linked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (ticket_id, article_id)
);
CREATE INDEX ticket_articles_article ON ticket_articles(article_id);
