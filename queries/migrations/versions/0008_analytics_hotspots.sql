-- Tickets created, closed (on time) and reworked per grid and local day: the hotspot test and the
-- grid rankings of the leadership page (issue #12,
-- docs/analytics-hotspots.md). The test sets each grid's count in a period against the same
-- grid's counts in the six periods before it: seven day ranges over every grid of the city. Read
-- from stat_daily (per grid *and category*, ~30,000 rows a day on the large demo) that cost
-- 1.9–3.6 s; this table has one row per grid with tickets that day (~6,600 a day) and answers in
-- 0.45–1.4 s on the same busy development machine. Kept by statement triggers on stat_daily like the coarse rollups
-- (0008_analytics_area.sql), so every writer of stat_daily keeps it without knowing it exists;
-- bulk loads that bypass triggers rebuild it (queries/analytics/grid_daily.py).

CREATE TABLE stat_grid_daily (
    day            date NOT NULL,
    grid_code      text COLLATE "C" NOT NULL,
    created        integer NOT NULL DEFAULT 0,
    closed         integer NOT NULL DEFAULT 0,
    closed_on_time integer NOT NULL DEFAULT 0,
    reworked       integer NOT NULL DEFAULT 0,
    -- INCLUDE: the period sums are index-only scans over a day range.
    PRIMARY KEY (day, grid_code) INCLUDE (created, closed, closed_on_time, reworked)
);

CREATE FUNCTION gridscope_stat_grid_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stat_grid_daily (day, grid_code, created, closed, closed_on_time, reworked)
    SELECT day, grid_code, sum(created), sum(closed), sum(closed_on_time), sum(reworked) FROM new_rows WHERE created <> 0 OR closed <> 0 OR closed_on_time <> 0 OR reworked <> 0 GROUP BY 1, 2
    ON CONFLICT (day, grid_code) DO UPDATE
       SET created = stat_grid_daily.created + EXCLUDED.created,
           closed = stat_grid_daily.closed + EXCLUDED.closed,
           closed_on_time = stat_grid_daily.closed_on_time + EXCLUDED.closed_on_time,
           reworked = stat_grid_daily.reworked + EXCLUDED.reworked;
    RETURN NULL;
END $$;

-- An update of stat_daily adds the difference of its counts.
CREATE FUNCTION gridscope_stat_grid_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stat_grid_daily (day, grid_code, created, closed, closed_on_time, reworked)
    SELECT day, grid_code, sum(created), sum(closed), sum(closed_on_time), sum(reworked)
      FROM (SELECT day, grid_code, created, closed, closed_on_time, reworked FROM new_rows
            UNION ALL SELECT day, grid_code, -created, -closed, -closed_on_time, -reworked FROM old_rows) d
     GROUP BY 1, 2 HAVING sum(created) <> 0 OR sum(closed) <> 0 OR sum(closed_on_time) <> 0 OR sum(reworked) <> 0
    ON CONFLICT (day, grid_code) DO UPDATE
       SET created = stat_grid_daily.created + EXCLUDED.created,
           closed = stat_grid_daily.closed + EXCLUDED.closed,
           closed_on_time = stat_grid_daily.closed_on_time + EXCLUDED.closed_on_time,
           reworked = stat_grid_daily.reworked + EXCLUDED.reworked;
    RETURN NULL;
END $$;

CREATE FUNCTION gridscope_stat_grid_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stat_grid_daily (day, grid_code, created, closed, closed_on_time, reworked)
    SELECT day, grid_code, -sum(created), -sum(closed), -sum(closed_on_time), -sum(reworked) FROM old_rows GROUP BY 1, 2
    ON CONFLICT (day, grid_code) DO UPDATE
       SET created = stat_grid_daily.created + EXCLUDED.created,
           closed = stat_grid_daily.closed + EXCLUDED.closed,
           closed_on_time = stat_grid_daily.closed_on_time + EXCLUDED.closed_on_time,
           reworked = stat_grid_daily.reworked + EXCLUDED.reworked;
    RETURN NULL;
END $$;

CREATE FUNCTION gridscope_stat_grid_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE stat_grid_daily;
    RETURN NULL;
END $$;

CREATE TRIGGER stat_grid_ins AFTER INSERT ON stat_daily REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_grid_ins();
CREATE TRIGGER stat_grid_upd AFTER UPDATE ON stat_daily
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_grid_upd();
CREATE TRIGGER stat_grid_del AFTER DELETE ON stat_daily REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_grid_del();
CREATE TRIGGER stat_grid_truncate AFTER TRUNCATE ON stat_daily
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_grid_truncate();
