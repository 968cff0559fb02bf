-- The rows of stat_worker_daily (per local day, staff, grid of the ticket), recomputed from the
-- event log with the counting rules of the write path (queries/tickets/create.py and
-- transition.py); see docs/measures-rollups.md. queries/analytics/rollup_build.py inserts them.
-- A step counts for a worker when a worker took it: the event's actor_kind is 'worker' and its
-- actor_id (the staff id) is set. Each count lands on the local day (%(tz)s) of the event:
--   discovered        'create' (a patrol ticket the worker found);
--   self_resolved     'self_resolve' (就地解决);
--   reported          'report' (上报), and reported_on_time those judged on time in the event's
--                     data (within the T1 window);
--   verify_due        'verify_pass' and 'verify_fail' (on-site verification, 核查), and
--                     verified_on_time those judged on time (within 24 h of the feedback).
-- The ticket is joined on its id alone (unique: one sequence), so the planner estimates the
-- rows right and aggregates by hashing.
SELECT (e.at AT TIME ZONE %(tz)s)::date AS day,
       e.actor_id AS staff_id,
       t.grid_code,
       count(*) FILTER (WHERE e.action = 'create')::int AS discovered,
       count(*) FILTER (WHERE e.action = 'self_resolve')::int AS self_resolved,
       count(*) FILTER (WHERE e.action = 'report')::int AS reported,
       count(*) FILTER (WHERE e.action = 'report'
                           AND (e.data ->> 'on_time')::boolean)::int AS reported_on_time,
       count(*) FILTER (WHERE e.action IN ('verify_pass', 'verify_fail'))::int AS verify_due,
       count(*) FILTER (WHERE e.action IN ('verify_pass', 'verify_fail')
                           AND (e.data ->> 'on_time')::boolean)::int AS verified_on_time
FROM ticket_event e
JOIN ticket t ON t.id = e.ticket_id
WHERE e.actor_kind = 'worker' AND e.actor_id IS NOT NULL
  AND e.action IN ('create', 'self_resolve', 'report', 'verify_pass', 'verify_fail')
GROUP BY 1, 2, 3
