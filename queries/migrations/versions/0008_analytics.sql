-- Satisfaction surveys (回访, PY 23): one record per survey of a closed ticket, written by the
-- API's survey action and the simulator. grid_code and category_code are the ticket's, copied so
-- that the jurisdiction scope and the category filter need no join to the partitioned ticket.
CREATE TABLE survey (
    id                bigserial PRIMARY KEY,
    ticket_id         bigint NOT NULL,
    ticket_created_at timestamptz NOT NULL,
    grid_code         text COLLATE "C" NOT NULL,
    category_code     text COLLATE "C" NOT NULL,
    at                timestamptz NOT NULL,
    channel           text NOT NULL CHECK (channel IN ('phone', 'sms', 'app', 'wechat', 'visit',
                           'other')),
    result            text NOT NULL CHECK (result IN ('satisfied', 'basic', 'unsatisfied')),
    comment           text CHECK (length(comment) <= 2000),
    actor_kind        text NOT NULL DEFAULT 'centre',
    actor_id          bigint,
    -- A ticket is surveyed once (closed -> surveyed); a retried request finds this row.
    UNIQUE (ticket_id)
);
CREATE INDEX survey_grid_at ON survey (grid_code, at);
-- The satisfaction panel groups a city's month of surveys (~280,000 on the large demo) by
-- channel, category and result: an index-only scan of this covering index.
CREATE INDEX survey_at ON survey (at) INCLUDE (grid_code, channel, category_code, result);

-- Per-department daily rollup of the tasks (ZJ 33: timeliness is counted per task), by the grid
-- of the ticket so the caller's scope applies. Counts land on the local day of the event.
CREATE TABLE stat_task_daily (
    day              date NOT NULL,
    department_id    bigint NOT NULL,
    grid_code        text COLLATE "C" NOT NULL,
    dispatched       integer NOT NULL DEFAULT 0,
    returned         integer NOT NULL DEFAULT 0,
    finished         integer NOT NULL DEFAULT 0,
    finished_on_time integer NOT NULL DEFAULT 0,
    reworked         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, department_id, grid_code)
);

-- Per-worker daily rollup of what workers do on tickets (discover, self-resolve, report,
-- verify on site), by the grid of the ticket.
CREATE TABLE stat_worker_daily (
    day              date NOT NULL,
    staff_id         bigint NOT NULL,
    grid_code        text COLLATE "C" NOT NULL,
    discovered       integer NOT NULL DEFAULT 0,
    self_resolved    integer NOT NULL DEFAULT 0,
    reported         integer NOT NULL DEFAULT 0,
    reported_on_time integer NOT NULL DEFAULT 0,
    verify_due       integer NOT NULL DEFAULT 0,
    verified_on_time integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, staff_id, grid_code)
);

-- Patrol (巡查): the micro-grids each worker visited on a local day, from the position history,
-- and each worker's minutes online on duty against the minutes scheduled (work calendar).
CREATE TABLE patrol_visit (
    day             date NOT NULL,
    grid_code       text COLLATE "C" NOT NULL,
    micro_grid_code text COLLATE "C" NOT NULL,
    staff_id        bigint NOT NULL,
    fixes           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, grid_code, micro_grid_code, staff_id)
);
CREATE TABLE stat_online_daily (
    day               date NOT NULL,
    staff_id          bigint NOT NULL,
    grid_code         text COLLATE "C" NOT NULL,
    online_minutes    integer NOT NULL DEFAULT 0,
    scheduled_minutes integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, staff_id, grid_code)
);

-- 应结案数 needs, for any instant E, the tickets open past their handling due time at E:
-- due_at < E <= closed_at (or still open). Only tickets that ever ran late qualify, and a GiST
-- index over that span answers "which spans contain E" without scanning the year. (The CASE
-- keeps the expression defined on rows outside the predicate, closed before they were due,
-- should a plan ever evaluate it there.)
CREATE INDEX ticket_late_span ON ticket
    USING gist (tstzrange(due_at, CASE WHEN closed_at > due_at THEN closed_at END, '(]'))
    INCLUDE (grid_code, category_code)
    WHERE due_at IS NOT NULL AND (closed_at IS NULL OR closed_at > due_at);
