-- Catalog import in bulk (issue 18). On PostgreSQL the search document
-- becomes a column kept by a trigger instead of a generated column. On
-- SQLite, a plan written rewrites its offering's search row only when it
-- changes the row's lowest price or currency: the plans of an offering
-- written in order of price (bronze, silver, gold) rewrote it once each.
DROP TRIGGER plans_search_ai;
CREATE TRIGGER plans_search_ai AFTER INSERT ON plans BEGIN
    UPDATE offering_search SET
        min_price_minor = (SELECT MIN(recurring_minor) FROM plans WHERE offering_id = new.offering_id AND NOT retired),
        currency = new.currency
    WHERE offering_id = new.offering_id
        AND (currency <> new.currency OR (NOT new.retired AND (min_price_minor IS NULL OR new.recurring_minor < min_price_minor)));
END;
