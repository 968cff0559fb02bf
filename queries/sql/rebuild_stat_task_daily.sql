-- The rows of stat_task_daily (per local day, department, grid of the ticket), recomputed with
-- the counting rules of the write path (queries/tickets/tasks.py and transition.py); see
-- docs/measures-rollups.md. queries/analytics/rollup_build.py inserts them.
-- Every count lands on the local day (%(tz)s) of the instant that causes it:
--   dispatched        every task (lead or assisting, whatever became of it), on its dispatch;
--   returned          every task whose department returned it (state 'returned': a lead that
--                     sent the dispatch back, or an assisting department's own return), on the
--                     return (finished_at);
--   finished          every task fed back (state 'feedback'), on its feedback (finished_at): a
--                     task is finished by its last feedback, so the rework that reopens a lead
--                     task withdraws the finish it had until it feeds back again;
--   finished_on_time  those of them fed back by their original due time (ticket_task.on_time);
--   reworked          every failed on-site verification ('verify_fail' event), on its day,
--                     held against the lead task it reopened (the event's task_id) or, for
--                     events that name no task (bulk-loaded ones), the lead task of the last
--                     dispatch at or before it; a rework with no lead task is not counted.
-- The task table answers the first four (a task row keeps its dispatch, its end and its
-- verdict); the event log answers the fifth.
-- Tickets are joined on their id alone (unique: one sequence): the planner then estimates the
-- rows right (a two-column estimate multiplies to ~1 row) and aggregates by hashing.
SELECT day, department_id, grid_code,
       sum(dispatched)::int AS dispatched,
       sum(returned)::int AS returned,
       sum(finished)::int AS finished,
       sum(finished_on_time)::int AS finished_on_time,
       sum(reworked)::int AS reworked
FROM (
    SELECT (k.dispatched_at AT TIME ZONE %(tz)s)::date AS day, k.department_id, t.grid_code,
           1 AS dispatched, 0 AS returned, 0 AS finished, 0 AS finished_on_time, 0 AS reworked
    FROM ticket_task k
    JOIN ticket t ON t.id = k.ticket_id
    UNION ALL
    SELECT (k.finished_at AT TIME ZONE %(tz)s)::date, k.department_id, t.grid_code,
           0, (k.state = 'returned')::int, (k.state = 'feedback')::int,
           (k.state = 'feedback' AND k.on_time IS TRUE)::int, 0
    FROM ticket_task k
    JOIN ticket t ON t.id = k.ticket_id
    WHERE k.state IN ('returned', 'feedback') AND k.finished_at IS NOT NULL
    UNION ALL
    SELECT (e.at AT TIME ZONE %(tz)s)::date, coalesce(named.department_id, last.department_id),
           t.grid_code, 0, 0, 0, 0, 1
    FROM ticket_event e
    JOIN ticket t ON t.id = e.ticket_id
    LEFT JOIN ticket_task named ON named.id = e.task_id
    LEFT JOIN LATERAL (
        SELECT l.department_id FROM ticket_task l
         WHERE l.ticket_id = e.ticket_id AND l.role = 'lead' AND l.dispatched_at <= e.at
         ORDER BY l.dispatched_at DESC, l.id DESC LIMIT 1
    ) last ON e.task_id IS NULL
    WHERE e.action = 'verify_fail'
      AND coalesce(named.department_id, last.department_id) IS NOT NULL
) counts
GROUP BY day, department_id, grid_code
