-- Rankings of /analytics (queries/analytics/rankings.py): department tasks open past their due
-- time at an instant (days without a snapshot in stat_task_backlog_daily).

-- Department tasks open past their due time at an instant E: due_at < E <= finished_at (or
-- still open), cancelled tasks left out. Only tasks that ever ran late qualify (~13 % on the
-- large demo); a GiST index over that span answers "which spans contain E" without reading
-- the 4 million tasks (18,344 tasks at the end of October 2026 in ~100 ms, where a sequential
-- scan took 0.6 s), like ticket_late_span for tickets. The CASE keeps the expression defined on
-- rows outside the predicate (finished before they were due), should a plan evaluate it there.
CREATE INDEX ticket_task_late_span ON ticket_task
    USING gist (tstzrange(due_at, CASE WHEN finished_at > due_at THEN finished_at END, '(]'))
    WHERE due_at IS NOT NULL AND (finished_at IS NULL OR finished_at > due_at)
      AND state <> 'cancelled';

-- A department ranking sums a month of task rollup rows (~520,000 for a large city): index-only
-- scans of these covering indexes instead of heap reads (the worker tab likewise).
CREATE INDEX stat_task_daily_day ON stat_task_daily (day)
    INCLUDE (department_id, grid_code, dispatched, returned, finished, finished_on_time, reworked);
CREATE INDEX stat_worker_daily_day ON stat_worker_daily (day)
    INCLUDE (staff_id, grid_code, discovered, self_resolved, reported, reported_on_time,
             verify_due, verified_on_time);
