-- gridscope schema, version 1. EPSG:4326 everywhere; timestamps are timestamptz (UTC stored).
-- Codes use COLLATE "C" so that jurisdiction prefix filters (code LIKE '330402%') use b-tree indexes.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Bumped after every committed write; part of every cache key (queries/cache.py).
CREATE SEQUENCE data_version;

-- Regions: 统计用区划代码 (province 2, city 4, county 6, town 9, community 12 digits).
-- Boundaries are versioned (valid_from/valid_to): adjustments close a version, never overwrite it.
CREATE TABLE region (
    id          bigserial PRIMARY KEY,
    code        text COLLATE "C" NOT NULL,
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('province', 'city', 'county', 'town', 'community')),
    parent_code text COLLATE "C",
    kind        text,
    geom        geometry(MultiPolygon, 4326),
    valid_from  timestamptz NOT NULL DEFAULT '2000-01-01',
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE UNIQUE INDEX region_current_code ON region (code) WHERE valid_to IS NULL;
CREATE INDEX region_parent ON region (parent_code) WHERE valid_to IS NULL;
CREATE INDEX region_geom ON region USING gist (geom);

-- Grids (网格): 15-digit code by default (community code + 3-digit sequence); the code rule is
-- pluggable in Python, so the database only insists on a non-empty code.
CREATE TABLE grid (
    id             bigserial PRIMARY KEY,
    code           text COLLATE "C" NOT NULL CHECK (code <> ''),
    name           text NOT NULL,
    community_code text COLLATE "C" NOT NULL,
    grid_type      text NOT NULL CHECK (grid_type IN ('comprehensive', 'exclusive')),
    exclusive_kind text CHECK (exclusive_kind IN ('school', 'hospital', 'industrial_park',
                         'enterprise', 'market', 'office', 'government', 'scenic', 'other')),
    households     integer NOT NULL DEFAULT 0 CHECK (households >= 0),
    population     integer NOT NULL DEFAULT 0 CHECK (population >= 0),
    area_m2        double precision,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    valid_from     timestamptz NOT NULL DEFAULT '2000-01-01',
    valid_to       timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    CHECK ((grid_type = 'exclusive') = (exclusive_kind IS NOT NULL)),
    EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE UNIQUE INDEX grid_current_code ON grid (code) WHERE valid_to IS NULL;
CREATE INDEX grid_community ON grid (community_code);
CREATE INDEX grid_geom ON grid USING gist (geom);
-- Codes are never reused: every code ever issued is remembered here.
CREATE TABLE issued_code (
    code      text COLLATE "C" PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('grid', 'micro_grid')),
    issued_at timestamptz NOT NULL DEFAULT now()
);

-- Micro-grids (微网格, JX 6): grid code + 3 digits = 18 digits by default.
CREATE TABLE micro_grid (
    id         bigserial PRIMARY KEY,
    code       text COLLATE "C" NOT NULL CHECK (code <> ''),
    grid_code  text COLLATE "C" NOT NULL,
    name       text NOT NULL,
    households integer NOT NULL DEFAULT 0 CHECK (households >= 0),
    geom       geometry(MultiPolygon, 4326) NOT NULL,
    valid_from timestamptz NOT NULL DEFAULT '2000-01-01',
    valid_to   timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE UNIQUE INDEX micro_grid_current_code ON micro_grid (code) WHERE valid_to IS NULL;
CREATE INDEX micro_grid_grid ON micro_grid (grid_code);
CREATE INDEX micro_grid_geom ON micro_grid USING gist (geom);

-- Departments: linked departments (联动部门), service units and the grid institutions themselves.
CREATE TABLE department (
    id          bigserial PRIMARY KEY,
    code        text COLLATE "C" NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('linked', 'service_unit', 'grid_institution')),
    region_code text COLLATE "C" NOT NULL
);

-- Staff (DOMAIN.md §2). Names and phones of grid staff are public information by law.
CREATE TABLE staff (
    id            bigserial PRIMARY KEY,
    staff_no      text NOT NULL UNIQUE,
    name          text NOT NULL,
    phone         text,
    role          text NOT NULL CHECK (role IN ('grid_chief', 'fulltime_worker', 'parttime_worker',
                        'grid_instructor', 'micro_grid_chief', 'centre_operator', 'department_officer')),
    department_id bigint REFERENCES department (id),
    region_code   text COLLATE "C" NOT NULL,
    active        boolean NOT NULL DEFAULT true
);
CREATE INDEX staff_region ON staff (region_code);

-- Grid assignments with history; role may differ from the staff's main role (a chief of one
-- grid can be a worker in another).
CREATE TABLE staff_assignment (
    id              bigserial PRIMARY KEY,
    staff_id        bigint NOT NULL REFERENCES staff (id),
    grid_code       text COLLATE "C" NOT NULL,
    micro_grid_code text COLLATE "C",
    role            text NOT NULL,
    valid_from      timestamptz NOT NULL DEFAULT '2000-01-01',
    valid_to        timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX staff_assignment_grid ON staff_assignment (grid_code) WHERE valid_to IS NULL;
CREATE INDEX staff_assignment_staff ON staff_assignment (staff_id) WHERE valid_to IS NULL;

-- The item list (事项清单): major 'CC' and minor 'CCSS' categories, admitted or withdrawn.
CREATE TABLE category (
    code         text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[0-9]{2}([0-9]{2})?$'),
    parent_code  text COLLATE "C" REFERENCES category (code),
    name_zh      text NOT NULL,
    name_en      text NOT NULL,
    admitted     boolean NOT NULL DEFAULT true,
    admitted_at  timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    sort_order   integer NOT NULL DEFAULT 0
);

-- Per-stage, per-urgency limits. unit: 'min'/'h' run on the calendar clock, 'wh' (work hours)
-- and 'wd' (working days) on the work calendar.
CREATE TABLE stage_limit (
    category_code text COLLATE "C" NOT NULL REFERENCES category (code),
    stage         text NOT NULL CHECK (stage IN ('T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7')),
    urgency       text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    amount        numeric(8, 2) NOT NULL CHECK (amount > 0),
    unit          text NOT NULL CHECK (unit IN ('min', 'h', 'wh', 'wd')),
    PRIMARY KEY (category_code, stage, urgency)
);

-- Which departments usually lead on a category (used by dispatch suggestions and the demo).
CREATE TABLE category_department (
    category_code text COLLATE "C" NOT NULL REFERENCES category (code),
    department_id bigint NOT NULL REFERENCES department (id),
    PRIMARY KEY (category_code, department_id)
);

-- Work calendar overrides: holidays on weekdays and make-up working days (调休) on weekends.
CREATE TABLE calendar_day (
    day         date PRIMARY KEY,
    is_workday  boolean NOT NULL,
    note        text
);

-- Tickets, range-partitioned by month of created_at. A DEFAULT partition catches anything the
-- monthly partitions do not cover yet, so an insert never fails for want of a partition.
CREATE SEQUENCE ticket_id_seq;
CREATE TABLE ticket (
    id               bigint NOT NULL DEFAULT nextval('ticket_id_seq'),
    created_at       timestamptz NOT NULL,
    ticket_no        text NOT NULL,
    external_id      text,
    source           text NOT NULL CHECK (source IN ('patrol', 'hotline', 'app', 'department',
                          'video', 'import', 'other')),
    category_code    text COLLATE "C" NOT NULL,
    urgency          text NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    state            text NOT NULL,
    stage            text,
    stage_started_at timestamptz,
    stage_warn_at    timestamptz,
    stage_due_at     timestamptz,
    due_at           timestamptz,
    original_due_at  timestamptz,
    grid_code        text COLLATE "C" NOT NULL,
    micro_grid_code  text COLLATE "C",
    geom             geometry(Point, 4326) NOT NULL,
    address          text,
    description      text,
    reported_at      timestamptz,
    finished_at      timestamptz,
    closed_at        timestamptz,
    closed_on_time   boolean,
    self_resolved    boolean NOT NULL DEFAULT false,
    rework_count     smallint NOT NULL DEFAULT 0,
    return_count     smallint NOT NULL DEFAULT 0,
    extension_count  smallint NOT NULL DEFAULT 0,
    escalated        boolean NOT NULL DEFAULT false,
    supervision      smallint NOT NULL DEFAULT 0 CHECK (supervision BETWEEN 0 AND 3),
    satisfaction     text CHECK (satisfaction IN ('satisfied', 'basic', 'unsatisfied')),
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE ticket_default PARTITION OF ticket DEFAULT;

-- Open tickets are few and hot: the screen's overdue and warning counters read only these.
CREATE INDEX ticket_open ON ticket (grid_code, stage_due_at)
    WHERE state NOT IN ('closed', 'surveyed', 'rejected');
CREATE INDEX ticket_grid_created ON ticket (grid_code, created_at);
CREATE INDEX ticket_created_brin ON ticket USING brin (created_at);
CREATE INDEX ticket_geom ON ticket USING gist (geom);

-- Monthly partitions between two instants (idempotent); called by migrate, demo load and serve.
CREATE FUNCTION gridscope_ensure_ticket_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', from_ts AT TIME ZONE 'UTC')::date;
    made integer := 0;
    part text;
BEGIN
    WHILE m <= (to_ts AT TIME ZONE 'UTC')::date LOOP
        part := format('ticket_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF ticket FOR VALUES FROM (%L) TO (%L)',
                part, (m::timestamp AT TIME ZONE 'UTC'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;

-- Per-department tasks: one lead, any number of assisting departments (ZJ 33, YZ 10).
CREATE TABLE ticket_task (
    id                bigserial PRIMARY KEY,
    ticket_id         bigint NOT NULL,
    ticket_created_at timestamptz NOT NULL,
    department_id     bigint NOT NULL REFERENCES department (id),
    role              text NOT NULL CHECK (role IN ('lead', 'assist')),
    state             text NOT NULL CHECK (state IN ('dispatched', 'signed', 'returned',
                           'feedback', 'cancelled')),
    dispatched_at     timestamptz NOT NULL,
    sign_due_at       timestamptz,
    signed_at         timestamptz,
    due_at            timestamptz,
    original_due_at   timestamptz,
    finished_at       timestamptz,
    on_time           boolean
);
CREATE INDEX ticket_task_ticket ON ticket_task (ticket_id);
CREATE INDEX ticket_task_open ON ticket_task (department_id, due_at)
    WHERE state IN ('dispatched', 'signed');
CREATE INDEX ticket_task_dispatched_brin ON ticket_task USING brin (dispatched_at);

-- Append-only event log: every transition, supervision step and comment.
CREATE TABLE ticket_event (
    id                bigserial PRIMARY KEY,
    ticket_id         bigint NOT NULL,
    ticket_created_at timestamptz NOT NULL,
    at                timestamptz NOT NULL,
    action            text NOT NULL,
    from_state        text,
    to_state          text,
    actor_kind        text NOT NULL CHECK (actor_kind IN ('worker', 'centre', 'department',
                           'public', 'system')),
    actor_id          bigint,
    task_id           bigint,
    comment           text,
    data              jsonb
);
CREATE INDEX ticket_event_ticket ON ticket_event (ticket_id, at);
CREATE INDEX ticket_event_at_brin ON ticket_event USING brin (at);

CREATE FUNCTION gridscope_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER ticket_event_append_only BEFORE UPDATE OR DELETE ON ticket_event
    FOR EACH ROW EXECUTE FUNCTION gridscope_append_only();

-- Worker GPS: the full time series (retention-limited, L4 data) and the latest fix per worker.
CREATE TABLE worker_position (
    staff_id   bigint NOT NULL,
    at         timestamptz NOT NULL,
    geom       geometry(Point, 4326) NOT NULL,
    accuracy_m real,
    on_duty    boolean NOT NULL DEFAULT true
);
CREATE INDEX worker_position_staff_at ON worker_position (staff_id, at);
CREATE INDEX worker_position_at_brin ON worker_position USING brin (at);

CREATE TABLE worker_last_position (
    staff_id  bigint PRIMARY KEY REFERENCES staff (id),
    at        timestamptz NOT NULL,
    geom      geometry(Point, 4326) NOT NULL,
    grid_code text COLLATE "C",
    on_duty   boolean NOT NULL DEFAULT true
);
CREATE INDEX worker_last_position_at ON worker_last_position (at);

-- Daily rollup per grid and category (day in the configured local time zone), kept current by
-- the write path in the same transaction as the change it counts. Raw counts only: rates are
-- derived where they are shown (gridscope/measures.py).
CREATE TABLE stat_daily (
    day               date NOT NULL,
    grid_code         text COLLATE "C" NOT NULL,
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
    PRIMARY KEY (day, grid_code, category_code)
);
CREATE INDEX stat_daily_grid ON stat_daily (grid_code, day);

-- What is loaded (demo size and seed, load time): lets `make demo` reuse a loaded city.
CREATE TABLE gridscope_meta (
    key        text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
