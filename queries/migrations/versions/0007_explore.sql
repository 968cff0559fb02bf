-- The source system's own classification (issue #11): Boston TYPE and REASON, Open311
-- service_name. Kept as imported next to the mapped category_code, which the mapping rules
-- still decide; NULL for tickets born in gridscope.
ALTER TABLE ticket ADD COLUMN source_type text CHECK (length(source_type) <= 200);
ALTER TABLE ticket ADD COLUMN source_reason text CHECK (length(source_reason) <= 200);
-- Import findings kept on the ticket, e.g. 'clock_skew' (closed a few seconds before it
-- opened in the source, accepted within the mapping's tolerance).
ALTER TABLE ticket ADD COLUMN import_flags text[] NOT NULL DEFAULT '{}';

-- The department currently leading the ticket (the lead of its newest lead task), kept by the
-- write path when a lead task is dispatched: the workbench filters and counts by it without
-- joining ticket_task for every ticket of a year.
ALTER TABLE ticket ADD COLUMN lead_department_id bigint;
UPDATE ticket t SET lead_department_id = k.department_id
  FROM (SELECT DISTINCT ON (ticket_id) ticket_id, ticket_created_at, department_id
          FROM ticket_task WHERE role = 'lead' ORDER BY ticket_id, dispatched_at DESC, id DESC) k
 WHERE t.id = k.ticket_id AND t.created_at = k.ticket_created_at;

-- The workbench's scan: one year of a city in created_at order, with every column its filters
-- and facets read, so that counts and facets are index-only scans.
CREATE INDEX ticket_explore_cover ON ticket (created_at)
    INCLUDE (grid_code, category_code, state, stage, source, urgency, supervision,
             closed_on_time, rework_count, return_count, stage_due_at, stage_warn_at,
             lead_department_id, source_type);
-- "Closed late last quarter" counts by closing time: the closed tickets in closing order.
CREATE INDEX ticket_closed_at ON ticket (closed_at) WHERE closed_at IS NOT NULL;

-- Saved views of the workbench: a name and the query string of /explore, per user.
CREATE TABLE saved_view (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    page       text NOT NULL DEFAULT '/explore' CHECK (page ~ '^/[a-z/]{1,40}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    query      text NOT NULL CHECK (length(query) <= 4000),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (user_id, page, name)
);

-- The workbench's column store (queries/explore/columns.py) catches up with the tickets
-- written since its last look by reading the rows updated since then.
CREATE INDEX ticket_updated_at ON ticket (updated_at);
