-- Catalog search (issue 18). offering_search holds, per offering, the text
-- search reads (the offering's name, summary and description, its
-- service's name, and the rest of its service: code, description, outcomes,
-- business functions), whether its audience is open to everyone, and its
-- lowest recurring plan price for the price facet. offering_audience is
-- the audience as rows, so who may see an offering is decided inside the
-- query. Triggers keep both in step with offerings, plans and services,
-- whoever writes them (the API, the portal, catalog import, a bulk load).
-- SQLite indexes the text with FTS5 (offering_fts, external content) and
-- reads its vocabulary for typo tolerance (offering_vocab).
CREATE INDEX offerings_name ON offerings(name, id);

CREATE TABLE offering_search (
    seq             INTEGER PRIMARY KEY,
    offering_id     TEXT NOT NULL UNIQUE REFERENCES offerings(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    summary         TEXT NOT NULL,
    description     TEXT NOT NULL,
    service         TEXT NOT NULL,
    about           TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    view            TEXT NOT NULL,
    category        TEXT NOT NULL,
    live            BOOLEAN NOT NULL,
    audience_open   BOOLEAN NOT NULL,
    min_price_minor BIGINT,
    currency        TEXT NOT NULL
);
CREATE INDEX offering_search_name ON offering_search(name, offering_id);
CREATE INDEX offering_search_service ON offering_search(service_id);
-- What a search reads of each match to rank a page (its audience and ID),
-- without the texts of the wide row (docs/benchmarks.md, Catalog).
CREATE INDEX offering_search_audience ON offering_search(seq, live, audience_open, offering_id);

CREATE TABLE offering_audience (
    offering_id TEXT NOT NULL REFERENCES offerings(id) ON DELETE CASCADE,
    org_unit_id TEXT NOT NULL,
    role        TEXT NOT NULL
);
CREATE INDEX offering_audience_offering ON offering_audience(offering_id);
CREATE INDEX offering_audience_org_unit ON offering_audience(org_unit_id, offering_id);
CREATE INDEX offering_audience_role ON offering_audience(role, offering_id);

CREATE VIRTUAL TABLE offering_fts USING fts5(name, summary, description, service, about,
    content='offering_search', content_rowid='seq', tokenize='unicode61 remove_diacritics 2', prefix='2 3 4');
CREATE VIRTUAL TABLE offering_vocab USING fts5vocab(offering_fts, row);

CREATE TRIGGER offering_search_ai AFTER INSERT ON offering_search BEGIN
    INSERT INTO offering_fts (rowid, name, summary, description, service, about)
    VALUES (new.seq, new.name, new.summary, new.description, new.service, new.about);
END;
CREATE TRIGGER offering_search_ad AFTER DELETE ON offering_search BEGIN
    INSERT INTO offering_fts (offering_fts, rowid, name, summary, description, service, about)
    VALUES ('delete', old.seq, old.name, old.summary, old.description, old.service, old.about);
END;
CREATE TRIGGER offering_search_au AFTER UPDATE OF name, summary, description, service, about ON offering_search BEGIN
    INSERT INTO offering_fts (offering_fts, rowid, name, summary, description, service, about)
    VALUES ('delete', old.seq, old.name, old.summary, old.description, old.service, old.about);
    INSERT INTO offering_fts (rowid, name, summary, description, service, about)
    VALUES (new.seq, new.name, new.summary, new.description, new.service, new.about);
END;

CREATE TRIGGER offerings_search_ai AFTER INSERT ON offerings BEGIN
    INSERT INTO offering_search (offering_id, name, summary, description, service, about, service_id, view, category, live, audience_open, min_price_minor, currency)
    SELECT new.id, new.name, new.summary, new.description, s.name,
        new.code || ' ' || s.code || ' ' || s.description
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.outcomes')), '')
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.business_functions')), ''),
        new.service_id, new.view, s.focus_category, s.lifecycle IN ('live', 'retiring'),
        COALESCE(json_array_length(new.audience, '$.org_unit_ids'), 0) + COALESCE(json_array_length(new.audience, '$.roles'), 0) = 0,
        NULL, ''
    FROM services s WHERE s.id = new.service_id;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT new.id, value, '' FROM json_each(new.audience, '$.org_unit_ids');
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT new.id, '', value FROM json_each(new.audience, '$.roles');
END;

CREATE TRIGGER offerings_search_au AFTER UPDATE OF code, name, summary, description, service_id, view ON offerings BEGIN
    UPDATE offering_search SET name = new.name, summary = new.summary, description = new.description, service_id = new.service_id, view = new.view,
        category = (SELECT s.focus_category FROM services s WHERE s.id = new.service_id),
        live = (SELECT s.lifecycle IN ('live', 'retiring') FROM services s WHERE s.id = new.service_id),
        service = (SELECT s.name FROM services s WHERE s.id = new.service_id),
        about = (SELECT new.code || ' ' || s.code || ' ' || s.description
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.outcomes')), '')
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.business_functions')), '')
            FROM services s WHERE s.id = new.service_id)
    WHERE offering_id = new.id;
END;

CREATE TRIGGER offerings_audience_au AFTER UPDATE OF audience ON offerings BEGIN
    UPDATE offering_search SET audience_open =
        COALESCE(json_array_length(new.audience, '$.org_unit_ids'), 0) + COALESCE(json_array_length(new.audience, '$.roles'), 0) = 0
    WHERE offering_id = new.id;
    DELETE FROM offering_audience WHERE offering_id = new.id;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT new.id, value, '' FROM json_each(new.audience, '$.org_unit_ids');
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT new.id, '', value FROM json_each(new.audience, '$.roles');
END;

CREATE TRIGGER services_search_au AFTER UPDATE OF code, name, description, details ON services
WHEN old.code <> new.code OR old.name <> new.name OR old.description <> new.description OR old.details <> new.details BEGIN
    UPDATE offering_search SET service = new.name,
        about = (SELECT o.code FROM offerings o WHERE o.id = offering_search.offering_id) || ' ' || new.code || ' ' || new.description
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(new.details, '$.outcomes')), '')
            || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(new.details, '$.business_functions')), '')
    WHERE service_id = new.id;
END;

CREATE TRIGGER services_search_state AFTER UPDATE OF lifecycle, focus_category ON services
WHEN old.lifecycle <> new.lifecycle OR old.focus_category <> new.focus_category BEGIN
    UPDATE offering_search SET category = new.focus_category, live = new.lifecycle IN ('live', 'retiring') WHERE service_id = new.id;
END;

CREATE TRIGGER plans_search_ai AFTER INSERT ON plans BEGIN
    UPDATE offering_search SET
        min_price_minor = (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = new.offering_id AND NOT retired),
        currency = new.currency
    WHERE offering_id = new.offering_id;
END;
CREATE TRIGGER plans_search_au AFTER UPDATE OF recurring_minor, retired, currency ON plans BEGIN
    UPDATE offering_search SET
        min_price_minor = (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = new.offering_id AND NOT retired),
        currency = new.currency
    WHERE offering_id = new.offering_id;
END;

-- What is there already.
INSERT INTO offering_search (offering_id, name, summary, description, service, about, service_id, view, category, live, audience_open, min_price_minor, currency)
SELECT o.id, o.name, o.summary, o.description, s.name,
    o.code || ' ' || s.code || ' ' || s.description
        || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.outcomes')), '')
        || ' ' || COALESCE((SELECT group_concat(value, ' ') FROM json_each(s.details, '$.business_functions')), ''),
    o.service_id, o.view, s.focus_category, s.lifecycle IN ('live', 'retiring'),
    COALESCE(json_array_length(o.audience, '$.org_unit_ids'), 0) + COALESCE(json_array_length(o.audience, '$.roles'), 0) = 0,
    (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = o.id AND NOT retired),
    COALESCE((SELECT MIN(currency) FROM plans WHERE offering_id = o.id), '')
FROM offerings o JOIN services s ON s.id = o.service_id;
INSERT INTO offering_audience (offering_id, org_unit_id, role)
SELECT o.id, j.value, '' FROM offerings o, json_each(o.audience, '$.org_unit_ids') j;
INSERT INTO offering_audience (offering_id, org_unit_id, role)
SELECT o.id, '', j.value FROM offerings o, json_each(o.audience, '$.roles') j;
