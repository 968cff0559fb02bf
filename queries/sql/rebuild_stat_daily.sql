-- Recompute stat_daily from the event log with the same counting rules as the write path
-- (domain/workflow/lifecycle.py, applied by queries/tickets/) and the file import
-- (gridscope/imports/tickets/rollup.py): a count lands on the local day of the event causing it.
INSERT INTO stat_daily (day, grid_code, category_code, created, self_resolved, reported,
                        reported_on_time, dispatched, returned, closed, closed_on_time, reworked,
                        verify_due, verified_on_time, surveyed, satisfied)
SELECT (e.at AT TIME ZONE %(tz)s)::date,
       t.grid_code,
       t.category_code,
       count(*) FILTER (WHERE e.action = 'create'),
       count(*) FILTER (WHERE e.action = 'self_resolve'),
       count(*) FILTER (WHERE e.action = 'report' OR (e.action = 'create' AND e.to_state = 'reported')),
       count(*) FILTER (WHERE (e.action = 'report' AND (e.data ->> 'on_time')::boolean)
                           OR (e.action = 'create' AND e.to_state = 'reported')),
       count(*) FILTER (WHERE e.action = 'dispatch'),
       count(*) FILTER (WHERE e.action = 'return'),
       count(*) FILTER (WHERE e.to_state = 'closed'),
       count(*) FILTER (WHERE e.to_state = 'closed' AND t.closed_on_time),
       count(*) FILTER (WHERE e.action = 'verify_fail'),
       count(*) FILTER (WHERE e.action IN ('verify_pass', 'verify_fail')),
       count(*) FILTER (WHERE e.action IN ('verify_pass', 'verify_fail')
                           AND (e.data ->> 'on_time')::boolean),
       count(*) FILTER (WHERE e.action = 'survey'),
       count(*) FILTER (WHERE e.action = 'survey' AND t.satisfaction IN ('satisfied', 'basic'))
FROM ticket_event e
JOIN ticket t ON t.id = e.ticket_id AND t.created_at = e.ticket_created_at
WHERE e.action IN ('create', 'self_resolve', 'report', 'dispatch', 'return', 'close',
                   'verify_pass', 'verify_fail', 'survey')
   OR e.to_state = 'closed'
GROUP BY 1, 2, 3;
