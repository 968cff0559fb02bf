-- Coarse rollups for two /analytics panels (issue #12) on a whole city: the department ranking
-- summed ~580,000 stat_task_daily rows (day × department × grid) per month and period, the
-- satisfaction panel grouped ~280,000 survey rows. Per town and per county they are ~30,000 and
-- ~50,000 rows a month at the county level. A scope equal to a town, county or city code (or
-- the whole database) covers whole towns and counties (codes nest by prefix), so these answer
-- it exactly; finer scopes keep reading the fine rows (queries/analytics/area.py,
-- category_level). Areas come from gridscope_grid_areas (0008_analytics_area.sql), as for
-- stat_area_daily.
--
-- Kept by statement triggers on stat_task_daily and survey, so every writer (the write path,
-- an import, a rebuild) keeps them; bulk rebuilds disable those triggers and call the rebuild
-- functions below once (queries/analytics/rollup_build.py). A TRUNCATE of the fine table
-- empties the coarse one. Rows a withdrawal leaves at zero are dropped, so the kept rollups
-- stay row for row what a rebuild gives. At the end, indexes for the rankings' other reads.

-- The local time zone survey days are counted in: the one every gridscope session sets
-- (queries/db.py), else the server's (a rebuild in a gridscope session corrects it).
CREATE FUNCTION gridscope_zone() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('gridscope.timezone', true), ''),
                    current_setting('TimeZone'))
$$;

-- ---- Department tasks per day, town or county, department -------------------------------------

CREATE TABLE stat_task_area_daily (
    level            text NOT NULL CHECK (level IN ('town', 'county')),
    day              date NOT NULL,
    area_code        text COLLATE "C" NOT NULL,
    department_id    bigint NOT NULL,
    dispatched       integer NOT NULL DEFAULT 0,
    returned         integer NOT NULL DEFAULT 0,
    finished         integer NOT NULL DEFAULT 0,
    finished_on_time integer NOT NULL DEFAULT 0,
    reworked         integer NOT NULL DEFAULT 0,
    -- Level first: a period's rows of one level are one range of the key.
    PRIMARY KEY (level, day, area_code, department_id)
);

-- Add signed stat_task_daily rows (a deletion's rows negated) to both levels. PL/pgSQL, not
-- SQL: its statements' plans are kept for the session (each write-path step calls this).
CREATE FUNCTION gridscope_task_area_add(delta stat_task_daily[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO stat_task_area_daily AS s (level, day, area_code, department_id, dispatched,
                                           returned, finished, finished_on_time, reworked)
    SELECT l.level, d.day, CASE l.level WHEN 'town' THEN a.town_code ELSE a.county_code END,
           d.department_id, sum(d.dispatched), sum(d.returned), sum(d.finished),
           sum(d.finished_on_time), sum(d.reworked)
      FROM unnest(delta) d
      JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM unnest(delta))) a
        ON a.grid_code = d.grid_code
     CROSS JOIN (VALUES ('town'), ('county')) AS l(level)
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (level, day, area_code, department_id) DO UPDATE
       SET dispatched = s.dispatched + EXCLUDED.dispatched,
           returned = s.returned + EXCLUDED.returned,
           finished = s.finished + EXCLUDED.finished,
           finished_on_time = s.finished_on_time + EXCLUDED.finished_on_time,
           reworked = s.reworked + EXCLUDED.reworked;
    -- Only a negative count can leave a row of zeros. The areas are looked up for those rows
    -- alone: a plain increment (the write path's usual step) looks up nothing here.
    DELETE FROM stat_task_area_daily s
     USING (SELECT DISTINCT l.level, d.day, d.department_id,
                   CASE l.level WHEN 'town' THEN a.town_code ELSE a.county_code END AS area_code
              FROM unnest(delta) d
              JOIN gridscope_grid_areas(ARRAY(
                       SELECT DISTINCT grid_code FROM unnest(delta) x
                        WHERE least(x.dispatched, x.returned, x.finished, x.finished_on_time,
                                    x.reworked) < 0)) a
                ON a.grid_code = d.grid_code
             CROSS JOIN (VALUES ('town'), ('county')) AS l(level)
             WHERE least(d.dispatched, d.returned, d.finished, d.finished_on_time,
                         d.reworked) < 0) k
     WHERE s.level = k.level AND s.day = k.day AND s.area_code = k.area_code
       AND s.department_id = k.department_id
       AND s.dispatched = 0 AND s.returned = 0 AND s.finished = 0
       AND s.finished_on_time = 0 AND s.reworked = 0;
END $$;

CREATE FUNCTION gridscope_task_area_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE stat_task_area_daily;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM gridscope_task_area_add(ARRAY(SELECT n::stat_task_daily FROM new_rows n));
    ELSIF TG_OP = 'UPDATE' THEN
        -- The net change per fine row: an upsert that adds 1 is one +1 row, not a row and its
        -- negation, so the zero-row DELETE is skipped unless a count really went down.
        PERFORM gridscope_task_area_add(ARRAY(
            SELECT ROW(x.day, x.department_id, x.grid_code, sum(x.dispatched)::int,
                       sum(x.returned)::int, sum(x.finished)::int,
                       sum(x.finished_on_time)::int, sum(x.reworked)::int)::stat_task_daily
              FROM (SELECT n.day, n.department_id, n.grid_code, n.dispatched, n.returned,
                           n.finished, n.finished_on_time, n.reworked
                      FROM new_rows n
                     UNION ALL
                    SELECT o.day, o.department_id, o.grid_code, -o.dispatched, -o.returned,
                           -o.finished, -o.finished_on_time, -o.reworked
                      FROM old_rows o) x
             GROUP BY x.day, x.department_id, x.grid_code
            HAVING sum(x.dispatched) <> 0 OR sum(x.returned) <> 0 OR sum(x.finished) <> 0
                OR sum(x.finished_on_time) <> 0 OR sum(x.reworked) <> 0));
    ELSE
        PERFORM gridscope_task_area_add(ARRAY(
            SELECT ROW(o.day, o.department_id, o.grid_code, -o.dispatched, -o.returned,
                       -o.finished, -o.finished_on_time, -o.reworked)::stat_task_daily
              FROM old_rows o));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stat_task_area_ins AFTER INSERT ON stat_task_daily
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_task_area_trg();
CREATE TRIGGER stat_task_area_upd AFTER UPDATE ON stat_task_daily
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_task_area_trg();
CREATE TRIGGER stat_task_area_del AFTER DELETE ON stat_task_daily
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_task_area_trg();
CREATE TRIGGER stat_task_area_truncate AFTER TRUNCATE ON stat_task_daily
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_task_area_trg();

-- The whole rollup recounted from stat_task_daily (bulk rebuilds, this migration), written in
-- key order so a period's rows lie together on disk. Returns the rows written.
CREATE FUNCTION gridscope_task_area_rebuild() RETURNS bigint LANGUAGE plpgsql
SET work_mem = '256MB' AS $$
DECLARE
    written bigint;
BEGIN
    TRUNCATE stat_task_area_daily;
    INSERT INTO stat_task_area_daily (level, day, area_code, department_id, dispatched,
                                      returned, finished, finished_on_time, reworked)
    WITH a AS MATERIALIZED (
        SELECT * FROM gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM stat_task_daily))
    ), t AS MATERIALIZED (
        SELECT d.day, a.town_code, a.county_code, d.department_id, sum(d.dispatched) AS dispatched,
               sum(d.returned) AS returned, sum(d.finished) AS finished,
               sum(d.finished_on_time) AS finished_on_time, sum(d.reworked) AS reworked
          FROM stat_task_daily d JOIN a ON a.grid_code = d.grid_code
         GROUP BY 1, 2, 3, 4
    )
    SELECT * FROM (
        SELECT 'town' AS level, day, town_code AS area_code, department_id, dispatched,
               returned, finished, finished_on_time, reworked
          FROM t
         UNION ALL
        SELECT 'county', day, county_code, department_id, sum(dispatched), sum(returned),
               sum(finished), sum(finished_on_time), sum(reworked)
          FROM t GROUP BY 2, 3, 4
    ) r
    WHERE dispatched <> 0 OR returned <> 0 OR finished <> 0 OR finished_on_time <> 0
       OR reworked <> 0
    ORDER BY 1, 2, 3, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    ANALYZE stat_task_area_daily;  -- a planner that believes it empty scans it whole
    RETURN written;
END $$;

-- ---- Surveys per local day, town or county, channel, category, result ----------------------

CREATE TABLE stat_survey_daily (
    level         text NOT NULL CHECK (level IN ('town', 'county')),
    day           date NOT NULL,
    area_code     text COLLATE "C" NOT NULL,
    channel       text COLLATE "C" NOT NULL,
    category_code text COLLATE "C" NOT NULL,
    result        text COLLATE "C" NOT NULL,
    surveys       integer NOT NULL,
    -- The count rides in the key's index: a period is an index-only range scan.
    PRIMARY KEY (level, day, area_code, channel, category_code, result) INCLUDE (surveys)
);

-- One survey's part of the rollup: +1 for a new or updated row, -1 for the old or deleted one.
CREATE TYPE gridscope_survey_delta AS (
    at            timestamptz,
    grid_code     text,
    channel       text,
    category_code text,
    result        text,
    n             integer
);

CREATE FUNCTION gridscope_survey_add(delta gridscope_survey_delta[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO stat_survey_daily AS s (level, day, area_code, channel, category_code, result,
                                        surveys)
    SELECT l.level, (d.at AT TIME ZONE gridscope_zone())::date,
           CASE l.level WHEN 'town' THEN a.town_code ELSE a.county_code END,
           d.channel, d.category_code, d.result, sum(d.n)
      FROM unnest(delta) d
      JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM unnest(delta))) a
        ON a.grid_code = d.grid_code
     CROSS JOIN (VALUES ('town'), ('county')) AS l(level)
     GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (level, day, area_code, channel, category_code, result) DO UPDATE
       SET surveys = s.surveys + EXCLUDED.surveys;
    DELETE FROM stat_survey_daily s
     USING (SELECT DISTINCT l.level, (d.at AT TIME ZONE gridscope_zone())::date AS day,
                   CASE l.level WHEN 'town' THEN a.town_code ELSE a.county_code END AS area_code,
                   d.channel, d.category_code, d.result
              FROM unnest(delta) d
              JOIN gridscope_grid_areas(ARRAY(
                       SELECT DISTINCT grid_code FROM unnest(delta) x WHERE x.n < 0)) a
                ON a.grid_code = d.grid_code
             CROSS JOIN (VALUES ('town'), ('county')) AS l(level)
             WHERE d.n < 0) k
     WHERE s.level = k.level AND s.day = k.day AND s.area_code = k.area_code
       AND s.channel = k.channel AND s.category_code = k.category_code
       AND s.result = k.result AND s.surveys = 0;
END $$;

CREATE FUNCTION gridscope_survey_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE stat_survey_daily;
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM gridscope_survey_add(ARRAY(
            SELECT ROW(n.at, n.grid_code, n.channel, n.category_code, n.result,
                       1)::gridscope_survey_delta
              FROM new_rows n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM gridscope_survey_add(ARRAY(
            SELECT ROW(n.at, n.grid_code, n.channel, n.category_code, n.result,
                       1)::gridscope_survey_delta
              FROM new_rows n
             UNION ALL
            SELECT ROW(o.at, o.grid_code, o.channel, o.category_code, o.result,
                       -1)::gridscope_survey_delta
              FROM old_rows o));
    ELSE
        PERFORM gridscope_survey_add(ARRAY(
            SELECT ROW(o.at, o.grid_code, o.channel, o.category_code, o.result,
                       -1)::gridscope_survey_delta
              FROM old_rows o));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER stat_survey_ins AFTER INSERT ON survey REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_survey_trg();
CREATE TRIGGER stat_survey_upd AFTER UPDATE ON survey
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_survey_trg();
CREATE TRIGGER stat_survey_del AFTER DELETE ON survey REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_survey_trg();
CREATE TRIGGER stat_survey_truncate AFTER TRUNCATE ON survey
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_survey_trg();

-- The whole rollup recounted from the survey records, in key order. Returns the rows written.
CREATE FUNCTION gridscope_survey_rebuild() RETURNS bigint LANGUAGE plpgsql
SET work_mem = '256MB' AS $$
DECLARE
    zone text := gridscope_zone();
    written bigint;
BEGIN
    TRUNCATE stat_survey_daily;
    INSERT INTO stat_survey_daily (level, day, area_code, channel, category_code, result,
                                   surveys)
    WITH a AS MATERIALIZED (
        SELECT * FROM gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM survey))
    ), t AS MATERIALIZED (
        SELECT (v.at AT TIME ZONE zone)::date AS day, a.town_code, a.county_code, v.channel,
               v.category_code, v.result, count(*) AS surveys
          FROM survey v JOIN a ON a.grid_code = v.grid_code
         GROUP BY 1, 2, 3, 4, 5, 6
    )
    SELECT 'town', day, town_code, channel, category_code, result, surveys FROM t
     UNION ALL
    SELECT 'county', day, county_code, channel, category_code, result, sum(surveys)
      FROM t GROUP BY 2, 3, 4, 5, 6
     ORDER BY 1, 2, 3, 4, 5, 6;
    GET DIAGNOSTICS written = ROW_COUNT;
    ANALYZE stat_survey_daily;
    RETURN written;
END $$;

-- ---- Covering indexes for the rankings panel's other reads ----------------------------------

-- The town and community levels of a city month sum ~32,000 community rows of stat_area_daily
-- (rankings.community_counts; rhythm sums created): an index-only range scan instead of heap
-- pages scattered by the trigger's updates (40 -> 9 ms per period on the large demo).
CREATE INDEX stat_area_daily_sums ON stat_area_daily (level, day, area_code)
    INCLUDE (created, closed, closed_on_time, reworked);
-- The departments' stock at a period's end reads one day of task snapshots (~18,000 rows on
-- ~12,700 pages, as a multi-day snapshot writes them; task_backlog._READ_SQL): index-only
-- (60-80 -> 4 ms per period).
CREATE INDEX stat_task_backlog_daily_day ON stat_task_backlog_daily (day)
    INCLUDE (department_id, grid_code, open_past_due);

-- Databases upgraded with data: fill both from the rows already there.
SELECT gridscope_task_area_rebuild();
SELECT gridscope_survey_rebuild();
