-- Monthly summaries of the patrol rollups (patrol_visit, stat_online_daily), kept by the same
-- job (queries/analytics/patrol_build.py) so that coverage and the online rate of any period
-- (a year, twelve months for a sparkline) read a row per micro-grid or grid and month instead
-- of a row per visit or worker and day. month is the first local day of the month.

-- The days of the month on which a micro-grid was visited by its grid's workers: bit (d - 1)
-- is set for day d. Coverage of any day range is a bit test, no DISTINCT over visits.
CREATE TABLE patrol_micro_month (
    month           date NOT NULL,
    grid_code       text COLLATE "C" NOT NULL,
    micro_grid_code text COLLATE "C" NOT NULL,
    days            integer NOT NULL,
    PRIMARY KEY (month, grid_code, micro_grid_code)
);

-- A grid's online and scheduled minutes over a whole month (the sums of stat_online_daily);
-- a period that covers part of a month reads those days from stat_online_daily.
CREATE TABLE stat_online_month (
    month             date NOT NULL,
    grid_code         text COLLATE "C" NOT NULL,
    online_minutes    bigint NOT NULL,
    scheduled_minutes bigint NOT NULL,
    PRIMARY KEY (month, grid_code)
);
