-- Onboarding a real town (issue #13). Every new column is nullable or has a default, so the
-- demo loader's COPY (explicit column lists) is unchanged.

-- Departments: a tree (level, parent) and a switch instead of deletion (tasks reference them).
ALTER TABLE department
    ADD COLUMN level       text CHECK (level IN ('city', 'county', 'town', 'community')),
    ADD COLUMN parent_code text COLLATE "C",
    ADD COLUMN phone       text,
    ADD COLUMN active      boolean NOT NULL DEFAULT true,
    ADD COLUMN updated_at  timestamptz;
CREATE INDEX department_parent ON department (parent_code);

-- Which categories a department may lead ('lead', dispatch suggestions) or only assist.
ALTER TABLE category_department
    ADD COLUMN duty text NOT NULL DEFAULT 'lead' CHECK (duty IN ('lead', 'assist'));

-- Staff: 联户长 (household-group leader, AR 11) joins the roles; start and end of service.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN (
    'grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor', 'micro_grid_chief',
    'household_leader', 'centre_operator', 'department_officer'));
ALTER TABLE staff
    ADD COLUMN start_date date,
    ADD COLUMN end_date   date,
    ADD COLUMN updated_at timestamptz,
    ADD CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date);
CREATE INDEX staff_phone ON staff (phone);

-- Assignments keep their history: one person holds one role in one (micro-)grid at most once at
-- any instant, so a re-run of the same file cannot add a second copy.
-- An end date still to come is kept in ends_on (the assignment stays current, valid_to NULL,
-- so every "current" query keeps its partial index); the sweep closes it when the day comes.
ALTER TABLE staff_assignment
    ADD COLUMN import_run_id bigint,
    ADD COLUMN ends_on       date,
    ADD CONSTRAINT staff_assignment_no_overlap EXCLUDE USING gist (
        staff_id WITH =, grid_code WITH =, (coalesce(micro_grid_code, '')) WITH =, role WITH =,
        tstzrange(valid_from, valid_to) WITH &&);
CREATE INDEX staff_assignment_history ON staff_assignment (staff_id, valid_from);

-- Micro-grids: household groups (联户单位, AR 11) where the file gives them; the decision that
-- drew each version.
ALTER TABLE micro_grid
    ADD COLUMN household_groups integer CHECK (household_groups >= 0),
    ADD COLUMN decision_no      text;

-- Boundary adjustments are decisions (ZJ 10, AR 11): each grid version names the decision that
-- made it (its effective date is the version's valid_from).
ALTER TABLE grid ADD COLUMN decision_no text;
CREATE INDEX grid_valid ON grid USING gist (tstzrange(valid_from, valid_to));

-- The item list's decisions (JX 8–9, ZJ 12–15, PY 14–16): the version in force on a day is,
-- per code, the latest decision effective on or before it. A code without decisions (a list
-- from before this migration) is in force as category.admitted says.
CREATE TABLE category_decision (
    id           bigserial PRIMARY KEY,
    code         text COLLATE "C" NOT NULL REFERENCES category (code),
    action       text NOT NULL CHECK (action IN ('admit', 'amend', 'withdraw')),
    decision_no  text NOT NULL CHECK (decision_no <> ''),
    effective_on date NOT NULL,
    name_zh      text,
    name_en      text,
    limits       jsonb,
    note         text,
    actor        text NOT NULL,
    recorded_at  timestamptz NOT NULL,
    UNIQUE (code, action, decision_no)
);
CREATE INDEX category_decision_code ON category_decision (code, effective_on, id);

-- Calendar years whose holidays and make-up days an administrator has confirmed (the years the
-- chinese_calendar package knows need no row).
ALTER TABLE calendar_day
    ADD COLUMN updated_at timestamptz,
    ADD COLUMN updated_by text;
CREATE TABLE calendar_year (
    year         integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    confirmed_at timestamptz NOT NULL,
    confirmed_by text NOT NULL,
    source       text
);

-- The onboarding imports record their runs like the grid and ticket imports.
ALTER TABLE import_run DROP CONSTRAINT import_run_kind_check;
ALTER TABLE import_run ADD CONSTRAINT import_run_kind_check
    CHECK (kind IN ('grids', 'tickets', 'micro_grids', 'staff', 'departments', 'items'));

-- The rules the stage clocks run on (calendar days, stage limits) carry a version that moves on
-- every change, so that a process keeping a copy of the clocks (the API) reloads it on the next
-- request after a change instead of after a timeout.
CREATE SEQUENCE rules_version;
CREATE FUNCTION gridscope_bump_rules_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('rules_version');
    RETURN NULL;
END $$;
CREATE TRIGGER calendar_day_rules_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_day
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_bump_rules_version();
CREATE TRIGGER stage_limit_rules_version
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON stage_limit
    FOR EACH STATEMENT EXECUTE FUNCTION gridscope_bump_rules_version();
