-- Catalog import in bulk (issue 18): the search document of an offering is
-- computed by a trigger when its texts are written, instead of being a
-- generated column, which PostgreSQL computes again on every update of the
-- row: setting an offering's lowest price after its plans are written (the
-- plans' triggers) cost as much as indexing its texts. The column, its
-- values and its GIN index stay.
ALTER TABLE offering_search ALTER COLUMN document DROP EXPRESSION;

CREATE FUNCTION offering_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.document :=
        setweight(to_tsvector('simple'::regconfig, NEW.name), 'A') ||
        setweight(to_tsvector('simple'::regconfig, NEW.summary), 'B') ||
        setweight(to_tsvector('simple'::regconfig, NEW.service), 'B') ||
        setweight(to_tsvector('simple'::regconfig, NEW.description), 'C') ||
        setweight(to_tsvector('simple'::regconfig, NEW.about), 'D');
    RETURN NEW;
END $$;
CREATE TRIGGER offering_search_document BEFORE INSERT OR UPDATE OF name, summary, description, service, about ON offering_search
    FOR EACH ROW EXECUTE FUNCTION offering_search_document();
