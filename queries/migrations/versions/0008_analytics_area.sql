-- Coarse daily rollups for the leadership page (issue #12): stat_daily summed per community and per
-- town (measures of a town or the city read 72 rows a day instead of ~30,000) and per
-- town or county and category (the category structure). Kept by statement triggers on stat_daily, so every
-- writer of stat_daily (the write path, the ticket import, the rebuild) keeps them without
-- knowing they exist; bulk loads that bypass triggers rebuild them (queries/analytics/area.py).
-- A grid's community is its current grid row's community_code (codes nest by prefix, the rule
-- every jurisdiction check relies on); a grid unknown to the grid table counts under its own
-- code, so it still falls inside every scope that contains it.

CREATE TABLE stat_area_daily (
    day               date NOT NULL,
    level             text NOT NULL CHECK (level IN ('community', 'town')),
    area_code         text COLLATE "C" NOT NULL,
    created           integer NOT NULL DEFAULT 0,
    self_resolved     integer NOT NULL DEFAULT 0,
    reported          integer NOT NULL DEFAULT 0,
    reported_on_time  integer NOT NULL DEFAULT 0,
    dispatched        integer NOT NULL DEFAULT 0,
    returned          integer NOT NULL DEFAULT 0,
    closed            integer NOT NULL DEFAULT 0,
    closed_on_time    integer NOT NULL DEFAULT 0,
    reworked          integer NOT NULL DEFAULT 0,
    verify_due        integer NOT NULL DEFAULT 0,
    verified_on_time  integer NOT NULL DEFAULT 0,
    surveyed          integer NOT NULL DEFAULT 0,
    satisfied         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, level, area_code)
);

CREATE TABLE stat_area_category_daily (
    day               date NOT NULL,
    level             text NOT NULL CHECK (level IN ('town', 'county')),
    area_code         text COLLATE "C" NOT NULL,
    category_code     text COLLATE "C" NOT NULL,
    created           integer NOT NULL DEFAULT 0,
    self_resolved     integer NOT NULL DEFAULT 0,
    reported          integer NOT NULL DEFAULT 0,
    reported_on_time  integer NOT NULL DEFAULT 0,
    dispatched        integer NOT NULL DEFAULT 0,
    returned          integer NOT NULL DEFAULT 0,
    closed            integer NOT NULL DEFAULT 0,
    closed_on_time    integer NOT NULL DEFAULT 0,
    reworked          integer NOT NULL DEFAULT 0,
    verify_due        integer NOT NULL DEFAULT 0,
    verified_on_time  integer NOT NULL DEFAULT 0,
    surveyed          integer NOT NULL DEFAULT 0,
    satisfied         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, level, area_code, category_code)
);

-- The grid -> community -> town map the triggers and the rebuild read.
CREATE FUNCTION gridscope_grid_areas(codes text[])
RETURNS TABLE (grid_code text, community_code text, town_code text, county_code text)
LANGUAGE sql STABLE AS $$
    SELECT c.code, coalesce(g.community_code, c.code),
           coalesce(r.parent_code, g.community_code, c.code),
           coalesce(t.parent_code, r.parent_code, g.community_code, c.code)
      FROM unnest(codes) AS c(code)
      LEFT JOIN LATERAL (SELECT community_code FROM grid WHERE grid.code = c.code
                          ORDER BY valid_from DESC LIMIT 1) g ON true
      LEFT JOIN region r ON r.code = g.community_code AND r.valid_to IS NULL
      LEFT JOIN region t ON t.code = r.parent_code AND t.valid_to IS NULL AND t.level = 'town'
$$;

-- Add the rows of pg_temp.stat_delta (signed counts) to both coarse rollups.
CREATE FUNCTION gridscope_stat_area_apply() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stat_area_daily (day, level, area_code, created, self_resolved, reported, reported_on_time, dispatched, returned, closed, closed_on_time, reworked, verify_due, verified_on_time, surveyed, satisfied)
    SELECT d.day, l.level, CASE l.level WHEN 'town' THEN a.town_code ELSE a.community_code END,
           sum(created), sum(self_resolved), sum(reported), sum(reported_on_time), sum(dispatched), sum(returned), sum(closed), sum(closed_on_time), sum(reworked), sum(verify_due), sum(verified_on_time), sum(surveyed), sum(satisfied)
      FROM pg_temp.stat_delta d
      JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM pg_temp.stat_delta)) a
        ON a.grid_code = d.grid_code
     CROSS JOIN (VALUES ('community'), ('town')) AS l(level)
     GROUP BY 1, 2, 3
    ON CONFLICT (day, level, area_code) DO UPDATE
       SET created = stat_area_daily.created + EXCLUDED.created,
           self_resolved = stat_area_daily.self_resolved + EXCLUDED.self_resolved,
           reported = stat_area_daily.reported + EXCLUDED.reported,
           reported_on_time = stat_area_daily.reported_on_time + EXCLUDED.reported_on_time,
           dispatched = stat_area_daily.dispatched + EXCLUDED.dispatched,
           returned = stat_area_daily.returned + EXCLUDED.returned,
           closed = stat_area_daily.closed + EXCLUDED.closed,
           closed_on_time = stat_area_daily.closed_on_time + EXCLUDED.closed_on_time,
           reworked = stat_area_daily.reworked + EXCLUDED.reworked,
           verify_due = stat_area_daily.verify_due + EXCLUDED.verify_due,
           verified_on_time = stat_area_daily.verified_on_time + EXCLUDED.verified_on_time,
           surveyed = stat_area_daily.surveyed + EXCLUDED.surveyed,
           satisfied = stat_area_daily.satisfied + EXCLUDED.satisfied;
    INSERT INTO stat_area_category_daily (day, level, area_code, category_code, created, self_resolved, reported, reported_on_time, dispatched, returned, closed, closed_on_time, reworked, verify_due, verified_on_time, surveyed, satisfied)
    SELECT d.day, l.level, CASE l.level WHEN 'county' THEN a.county_code ELSE a.town_code END,
           d.category_code, sum(created), sum(self_resolved), sum(reported), sum(reported_on_time), sum(dispatched), sum(returned), sum(closed), sum(closed_on_time), sum(reworked), sum(verify_due), sum(verified_on_time), sum(surveyed), sum(satisfied)
      FROM pg_temp.stat_delta d
      JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM pg_temp.stat_delta)) a
        ON a.grid_code = d.grid_code
     CROSS JOIN (VALUES ('town'), ('county')) AS l(level)
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, level, area_code, category_code) DO UPDATE
       SET created = stat_area_category_daily.created + EXCLUDED.created,
           self_resolved = stat_area_category_daily.self_resolved + EXCLUDED.self_resolved,
           reported = stat_area_category_daily.reported + EXCLUDED.reported,
           reported_on_time = stat_area_category_daily.reported_on_time + EXCLUDED.reported_on_time,
           dispatched = stat_area_category_daily.dispatched + EXCLUDED.dispatched,
           returned = stat_area_category_daily.returned + EXCLUDED.returned,
           closed = stat_area_category_daily.closed + EXCLUDED.closed,
           closed_on_time = stat_area_category_daily.closed_on_time + EXCLUDED.closed_on_time,
           reworked = stat_area_category_daily.reworked + EXCLUDED.reworked,
           verify_due = stat_area_category_daily.verify_due + EXCLUDED.verify_due,
           verified_on_time = stat_area_category_daily.verified_on_time + EXCLUDED.verified_on_time,
           surveyed = stat_area_category_daily.surveyed + EXCLUDED.surveyed,
           satisfied = stat_area_category_daily.satisfied + EXCLUDED.satisfied;
END $$;


CREATE FUNCTION gridscope_stat_area_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.stat_delta') IS NULL THEN
        CREATE TEMP TABLE stat_delta (LIKE stat_daily) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.stat_delta SELECT * FROM new_rows;
    PERFORM gridscope_stat_area_apply();
    DELETE FROM pg_temp.stat_delta;
    RETURN NULL;
END $$;


CREATE FUNCTION gridscope_stat_area_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.stat_delta') IS NULL THEN
        CREATE TEMP TABLE stat_delta (LIKE stat_daily) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.stat_delta SELECT day, grid_code, category_code, created, self_resolved, reported, reported_on_time, dispatched, returned, closed, closed_on_time, reworked, verify_due, verified_on_time, surveyed, satisfied FROM new_rows UNION ALL SELECT day, grid_code, category_code, -created, -self_resolved, -reported, -reported_on_time, -dispatched, -returned, -closed, -closed_on_time, -reworked, -verify_due, -verified_on_time, -surveyed, -satisfied FROM old_rows;
    PERFORM gridscope_stat_area_apply();
    DELETE FROM pg_temp.stat_delta;
    RETURN NULL;
END $$;


CREATE FUNCTION gridscope_stat_area_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.stat_delta') IS NULL THEN
        CREATE TEMP TABLE stat_delta (LIKE stat_daily) ON COMMIT DELETE ROWS;
    END IF;
    INSERT INTO pg_temp.stat_delta SELECT day, grid_code, category_code, -created, -self_resolved, -reported, -reported_on_time, -dispatched, -returned, -closed, -closed_on_time, -reworked, -verify_due, -verified_on_time, -surveyed, -satisfied FROM old_rows;
    PERFORM gridscope_stat_area_apply();
    DELETE FROM pg_temp.stat_delta;
    RETURN NULL;
END $$;

CREATE TRIGGER stat_area_ins AFTER INSERT ON stat_daily REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_area_ins();
CREATE TRIGGER stat_area_upd AFTER UPDATE ON stat_daily
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_area_upd();
CREATE TRIGGER stat_area_del AFTER DELETE ON stat_daily REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_area_del();
-- TRUNCATE fires no trigger here: whoever truncates stat_daily or ticket rebuilds the rollups
-- (queries/analytics/area.py), and the demo reset truncates them together.


-- 应结案数 of a past period needs the tickets open past their handling due time at its end:
-- a stock, not a flow, so it is kept as a snapshot per local day (at the day's end) and grid.
-- Filled by the rebuild after a bulk load and daily by the sweep (queries/analytics/backlog.py);
-- the current day is always counted live from the open tickets.
CREATE TABLE stat_backlog_daily (
    day           date NOT NULL,
    grid_code     text COLLATE "C" NOT NULL,
    open_past_due integer NOT NULL,
    PRIMARY KEY (day, grid_code)
);
-- The days a snapshot has been taken for (a day with no late ticket has no rows).
CREATE TABLE stat_backlog_day (
    day      date PRIMARY KEY,
    taken_at timestamptz NOT NULL
);

-- Tickets created per local hour, day and town: the leadership page's hour × weekday pattern
-- (the ticket table took 0.5 s for a city month). Kept by a statement trigger on ticket inserts
-- (a ticket's creation time and grid never change); bulk loads rebuild it.
CREATE TABLE stat_hour_daily (
    day       date NOT NULL,
    town_code text COLLATE "C" NOT NULL,
    hour      smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    created   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, town_code, hour)
);

-- Hours are local to the time zone every gridscope session sets (gridscope.timezone,
-- queries/db.py); another client falls back to the server's TimeZone, and a rebuild corrects it.
CREATE FUNCTION gridscope_stat_hour_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := coalesce(nullif(current_setting('gridscope.timezone', true), ''),
                          current_setting('TimeZone'));
BEGIN
    INSERT INTO stat_hour_daily (day, town_code, hour, created)
    SELECT (n.created_at AT TIME ZONE zone)::date, a.town_code,
           extract(hour FROM n.created_at AT TIME ZONE zone)::smallint, count(*)
      FROM new_rows n
      JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM new_rows)) a
        ON a.grid_code = n.grid_code
     GROUP BY 1, 2, 3
    ON CONFLICT (day, town_code, hour) DO UPDATE
       SET created = stat_hour_daily.created + EXCLUDED.created;
    RETURN NULL;
END $$;
CREATE TRIGGER stat_hour_ins AFTER INSERT ON ticket REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_stat_hour_ins();


-- The same stock per department: tasks open past their due time at the end of each local day
-- (department rankings; ZJ 33: timeliness is counted per task), by the grid of their ticket.
CREATE TABLE stat_task_backlog_daily (
    day           date NOT NULL,
    department_id bigint NOT NULL,
    grid_code     text COLLATE "C" NOT NULL,
    open_past_due integer NOT NULL,
    PRIMARY KEY (day, department_id, grid_code)
);
