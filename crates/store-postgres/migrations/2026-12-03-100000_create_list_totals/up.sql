-- Exact totals of the user and URL lists whose filters no index bounds: all
-- users, the live URLs active and those inactive (all live URLs: the two
-- summed). A list answers its X-Total-Count from here instead of counting every
-- matching row (about 45 ms for 1,000,000 URLs; docs/capacity-plan.md, "List
-- totals"). Filters an index bounds to few rows (a username, an e-mail, a short
-- code) or to one user's rows are still counted directly.
--
-- Events keep no totals: the triggers would add to every click's insert, which a
-- redirect waits for (measured: 0.45 to 0.84 of the insert rate).
--
-- Statement-level triggers keep the totals in the writing transaction, so a total
-- read in the same snapshot as a page agrees with it. Each transaction adds to
-- one of 16 rows of a total, chosen from its id, so concurrent writers seldom
-- wait for one another; a total is the sum of its rows. No deadlock: a
-- statement locks its totals in name order; the store's transactions that move
-- URL totals do it in one statement; a bulk import moves only `users` (in two
-- or three statements, one total); `seed` holds table locks that keep every
-- other writer out. A new transaction that moved several totals in two
-- statements could lock them in two orders. Cost: a URL's insert alone runs at 0.79 of its rate
-- without them (docs/capacity-plan.md).

-- First, before any statement takes a snapshot: no writer may slip between the
-- snapshot the backfill below reads (under REPEATABLE READ, the transaction's
-- first) and the triggers. Writers wait for this migration (0.2 s at 1,000,000
-- URLs).
LOCK TABLE users, urls IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE list_totals (
    list  TEXT NOT NULL,
    shard SMALLINT NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (list, shard)
);

-- The total a URL counts in, none when it is deleted. The names are the store's
-- (src/totals.rs reads the same ones). One total a row, not one for all URLs as
-- well: each total a statement moves costs an upsert.
-- (`is_active::text`, immutable, where `|| is_active` is only stable, so that the
-- planner inlines the function.)
CREATE FUNCTION url_list(is_active BOOLEAN, deleted_at TIMESTAMP) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN deleted_at IS NULL THEN 'urls:is_active=' || is_active::text END
$$;

-- The row of a total this transaction adds to.
CREATE FUNCTION list_totals_shard() RETURNS SMALLINT
LANGUAGE sql STABLE AS $$
    SELECT (pg_current_xact_id()::text::bigint % 16)::smallint
$$;

-- One function per table, for its triggers: a branch reads only the transition
-- tables its operation has (PL/pgSQL plans a statement when it first runs it).
-- Each branch is one INSERT .. ON CONFLICT: measured, it costs half what handing
-- the changes to a shared function costs. Totals are locked in name order.
CREATE FUNCTION count_users() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO list_totals (list, shard, n)
        SELECT 'users', list_totals_shard(), count(*) FROM new_rows HAVING count(*) > 0
        ON CONFLICT (list, shard) DO UPDATE SET n = list_totals.n + excluded.n;
    ELSE
        INSERT INTO list_totals (list, shard, n)
        SELECT 'users', list_totals_shard(), -count(*) FROM old_rows HAVING count(*) > 0
        ON CONFLICT (list, shard) DO UPDATE SET n = list_totals.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION count_urls() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO list_totals (list, shard, n)
        SELECT url_list(is_active, deleted_at) AS list, list_totals_shard(), count(*)
        FROM new_rows WHERE deleted_at IS NULL
        GROUP BY list ORDER BY list
        ON CONFLICT (list, shard) DO UPDATE SET n = list_totals.n + excluded.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO list_totals (list, shard, n)
        SELECT list, list_totals_shard(), sum(delta)
        FROM (SELECT url_list(is_active, deleted_at) AS list, 1 AS delta FROM new_rows
              UNION ALL
              SELECT url_list(is_active, deleted_at), -1 FROM old_rows) AS changes
        WHERE list IS NOT NULL
        GROUP BY list HAVING sum(delta) <> 0 ORDER BY list
        ON CONFLICT (list, shard) DO UPDATE SET n = list_totals.n + excluded.n;
    ELSE
        INSERT INTO list_totals (list, shard, n)
        SELECT url_list(is_active, deleted_at) AS list, list_totals_shard(), -count(*)
        FROM old_rows WHERE deleted_at IS NULL
        GROUP BY list ORDER BY list
        ON CONFLICT (list, shard) DO UPDATE SET n = list_totals.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

-- An update of a user moves no total.
CREATE TRIGGER users_counted_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_users();
CREATE TRIGGER users_counted_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_users();
CREATE TRIGGER urls_counted_insert AFTER INSERT ON urls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_urls();
CREATE TRIGGER urls_counted_update AFTER UPDATE ON urls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_urls();
CREATE TRIGGER urls_counted_delete AFTER DELETE ON urls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_urls();

-- TRUNCATE fires no row or statement triggers of the kinds above: it empties
-- the totals of its table instead.
CREATE FUNCTION forget_list_totals() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM list_totals
    WHERE list = TG_TABLE_NAME OR starts_with(list, TG_TABLE_NAME || ':');
    RETURN NULL;
END
$$;
CREATE TRIGGER users_counted_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION forget_list_totals();
CREATE TRIGGER urls_counted_truncate AFTER TRUNCATE ON urls
    FOR EACH STATEMENT EXECUTE FUNCTION forget_list_totals();

-- The rows already there, grouped as they are read. The lock taken first keeps
-- writers out until this migration commits, so no row is counted twice or missed.
INSERT INTO list_totals (list, shard, n)
SELECT 'users', 0, count(*) FROM users;
INSERT INTO list_totals (list, shard, n)
SELECT url_list(is_active, deleted_at) AS list, 0, count(*) FROM urls WHERE deleted_at IS NULL
GROUP BY list;
