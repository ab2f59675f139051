-- Catalog search (issue 18). offering_search holds, per offering, the text
-- search reads (the offering's name, summary and description, its
-- service's name, and the rest of its service: code, description, outcomes,
-- business functions), whether its audience is open to everyone, and its
-- lowest recurring plan price for the price facet. offering_audience is
-- the audience as rows, so who may see an offering is decided inside the
-- query. Triggers keep both in step with offerings, plans and services,
-- whoever writes them (the API, the portal, catalog import, a bulk load).
-- PostgreSQL indexes the text as a weighted tsvector (document, GIN) and
-- keeps its vocabulary in search_words with a trigram index (pg_trgm) for
-- typo tolerance; both are engine-specific (see sqldb.Columns).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX offerings_name ON offerings(name, id);

CREATE TABLE offering_search (
    seq             BIGSERIAL PRIMARY KEY,
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
    currency        TEXT NOT NULL,
    document        tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, name), 'A') ||
        setweight(to_tsvector('simple'::regconfig, summary), 'B') ||
        setweight(to_tsvector('simple'::regconfig, service), 'B') ||
        setweight(to_tsvector('simple'::regconfig, description), 'C') ||
        setweight(to_tsvector('simple'::regconfig, about), 'D')) STORED
);
COMMENT ON COLUMN offering_search.document IS 'engine-specific: the PostgreSQL full-text document (SQLite: offering_fts)';
CREATE INDEX offering_search_document ON offering_search USING GIN (document);
CREATE INDEX offering_search_name ON offering_search(name, offering_id);
CREATE INDEX offering_search_service ON offering_search(service_id);

CREATE TABLE search_words (
    word TEXT COLLATE "C" PRIMARY KEY
);
COMMENT ON TABLE search_words IS 'engine-specific: the PostgreSQL search vocabulary (SQLite: offering_vocab)';
CREATE INDEX search_words_trgm ON search_words USING GIN (word gin_trgm_ops);

CREATE TABLE offering_audience (
    offering_id TEXT NOT NULL REFERENCES offerings(id) ON DELETE CASCADE,
    org_unit_id TEXT NOT NULL,
    role        TEXT NOT NULL
);
CREATE INDEX offering_audience_offering ON offering_audience(offering_id);
CREATE INDEX offering_audience_org_unit ON offering_audience(org_unit_id, offering_id);
CREATE INDEX offering_audience_role ON offering_audience(role, offering_id);

CREATE FUNCTION offering_search_about(o_code TEXT, s services) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT o_code || ' ' || s.code || ' ' || s.description
        || ' ' || COALESCE((SELECT string_agg(x, ' ') FROM jsonb_array_elements_text(COALESCE(s.details::jsonb -> 'outcomes', '[]'::jsonb)) x), '')
        || ' ' || COALESCE((SELECT string_agg(x, ' ') FROM jsonb_array_elements_text(COALESCE(s.details::jsonb -> 'business_functions', '[]'::jsonb)) x), '')
$$;

CREATE FUNCTION offering_audience_open(audience TEXT) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_array_length(audience::jsonb -> 'org_unit_ids'), 0) + COALESCE(jsonb_array_length(audience::jsonb -> 'roles'), 0) = 0
$$;

-- The vocabulary keeps words of letters and digits only, as a search's
-- words are: PostgreSQL also extracts URLs, paths, addresses and numbers
-- with their punctuation (/abcd'e), which a typo must never be read as.
CREATE FUNCTION offering_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM unnest(tsvector_to_array(NEW.document)) w WHERE length(w) BETWEEN 3 AND 40 AND w !~ '[[:punct:][:space:][:cntrl:]]'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER offering_search_words AFTER UPDATE OF name, summary, description, service, about ON offering_search
    FOR EACH ROW EXECUTE FUNCTION offering_search_words();
-- Inserts are indexed a statement at a time (transition tables), so a bulk
-- load of thousands of offerings costs a few statements, not a few per row.
CREATE FUNCTION offering_search_words_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (word)
    SELECT DISTINCT w FROM new_rows n, unnest(tsvector_to_array(n.document)) w WHERE length(w) BETWEEN 3 AND 40 AND w !~ '[[:punct:][:space:][:cntrl:]]'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER offering_search_words_insert AFTER INSERT ON offering_search REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION offering_search_words_insert();

CREATE FUNCTION offering_audience_rows(o_id TEXT, audience TEXT) RETURNS void LANGUAGE sql AS $$
    DELETE FROM offering_audience WHERE offering_id = o_id;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT o_id, x, '' FROM jsonb_array_elements_text(COALESCE(audience::jsonb -> 'org_unit_ids', '[]'::jsonb)) x;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT o_id, '', x FROM jsonb_array_elements_text(COALESCE(audience::jsonb -> 'roles', '[]'::jsonb)) x;
$$;

CREATE FUNCTION offerings_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO offering_search (offering_id, name, summary, description, service, about, service_id, view, category, live, audience_open, min_price_minor, currency)
    SELECT n.id, n.name, n.summary, n.description, s.name, offering_search_about(n.code, s), n.service_id, n.view, s.focus_category,
        s.lifecycle IN ('live', 'retiring'), offering_audience_open(n.audience), NULL, ''
    FROM new_rows n JOIN services s ON s.id = n.service_id;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT n.id, x, '' FROM new_rows n, jsonb_array_elements_text(COALESCE(n.audience::jsonb -> 'org_unit_ids', '[]'::jsonb)) x;
    INSERT INTO offering_audience (offering_id, org_unit_id, role)
    SELECT n.id, '', x FROM new_rows n, jsonb_array_elements_text(COALESCE(n.audience::jsonb -> 'roles', '[]'::jsonb)) x;
    RETURN NULL;
END $$;
CREATE TRIGGER offerings_search_insert AFTER INSERT ON offerings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION offerings_search_insert();

CREATE FUNCTION offerings_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.code, OLD.name, OLD.summary, OLD.description, OLD.service_id, OLD.view) IS DISTINCT FROM (NEW.code, NEW.name, NEW.summary, NEW.description, NEW.service_id, NEW.view) THEN
        UPDATE offering_search SET name = NEW.name, summary = NEW.summary, description = NEW.description, service = s.name, about = offering_search_about(NEW.code, s),
            service_id = NEW.service_id, view = NEW.view, category = s.focus_category, live = s.lifecycle IN ('live', 'retiring')
        FROM services s WHERE s.id = NEW.service_id AND offering_search.offering_id = NEW.id;
    END IF;
    IF OLD.audience IS DISTINCT FROM NEW.audience THEN
        UPDATE offering_search SET audience_open = offering_audience_open(NEW.audience) WHERE offering_id = NEW.id;
        PERFORM offering_audience_rows(NEW.id, NEW.audience);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER offerings_search AFTER UPDATE ON offerings FOR EACH ROW EXECUTE FUNCTION offerings_search();

CREATE FUNCTION services_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.code, OLD.name, OLD.description, OLD.details) IS DISTINCT FROM (NEW.code, NEW.name, NEW.description, NEW.details) THEN
        UPDATE offering_search SET service = NEW.name, about = offering_search_about(o.code, NEW)
        FROM offerings o WHERE o.service_id = NEW.id AND offering_search.offering_id = o.id;
    END IF;
    IF (OLD.lifecycle, OLD.focus_category) IS DISTINCT FROM (NEW.lifecycle, NEW.focus_category) THEN
        UPDATE offering_search SET category = NEW.focus_category, live = NEW.lifecycle IN ('live', 'retiring') WHERE service_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER services_search AFTER UPDATE ON services FOR EACH ROW EXECUTE FUNCTION services_search();

CREATE FUNCTION plans_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE offering_search SET
        min_price_minor = (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = NEW.offering_id AND NOT retired),
        currency = NEW.currency
    WHERE offering_id = NEW.offering_id;
    RETURN NULL;
END $$;
CREATE TRIGGER plans_search AFTER UPDATE OF recurring_minor, retired, currency ON plans FOR EACH ROW EXECUTE FUNCTION plans_search();
CREATE FUNCTION plans_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE offering_search d SET min_price_minor = m.low, currency = m.currency
    FROM (SELECT p.offering_id, MIN(p.recurring_minor) FILTER (WHERE NOT p.retired) AS low, MIN(p.currency) AS currency
          FROM plans p WHERE p.offering_id IN (SELECT DISTINCT offering_id FROM new_rows) GROUP BY p.offering_id) m
    WHERE d.offering_id = m.offering_id;
    RETURN NULL;
END $$;
CREATE TRIGGER plans_search_insert AFTER INSERT ON plans REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION plans_search_insert();

-- What is there already.
INSERT INTO offering_search (offering_id, name, summary, description, service, about, service_id, view, category, live, audience_open, min_price_minor, currency)
SELECT o.id, o.name, o.summary, o.description, s.name, offering_search_about(o.code, s), o.service_id, o.view, s.focus_category,
    s.lifecycle IN ('live', 'retiring'), offering_audience_open(o.audience),
    (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = o.id AND NOT retired),
    COALESCE((SELECT MIN(currency) FROM plans WHERE offering_id = o.id), '')
FROM offerings o JOIN services s ON s.id = o.service_id;
INSERT INTO offering_audience (offering_id, org_unit_id, role)
SELECT o.id, x, '' FROM offerings o, jsonb_array_elements_text(COALESCE(o.audience::jsonb -> 'org_unit_ids', '[]'::jsonb)) x;
INSERT INTO offering_audience (offering_id, org_unit_id, role)
SELECT o.id, '', x FROM offerings o, jsonb_array_elements_text(COALESCE(o.audience::jsonb -> 'roles', '[]'::jsonb)) x;
