-- The wall's ticker (queries/screen/ticker.py) lists the newest open alerts of a
-- jurisdiction: a ticket is an alert when it is urgent, overdue in its stage or under
-- supervision, and "new" by the latest of those moments. It used to sort every open alert
-- of the jurisdiction (7,000 in the large demo's city: 140-220 ms, recomputed every 1.25 s
-- by the wall feeds while data changes). The newest N by the latest moment are among the
-- newest N of each kind, so three ordered scans of these small partial indexes give the
-- candidates. Each predicate is the ticker's own, verbatim, so the planner can use them.
CREATE INDEX ticket_alert_overdue ON ticket (stage_due_at DESC, ticket_no)
    INCLUDE (grid_code)
    WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended');

CREATE INDEX ticket_alert_urgent ON ticket (created_at DESC, ticket_no)
    INCLUDE (grid_code)
    WHERE urgency = 'urgent' AND state NOT IN ('closed', 'surveyed', 'rejected');

CREATE INDEX ticket_alert_supervised ON ticket (updated_at DESC, ticket_no)
    INCLUDE (grid_code)
    WHERE supervision > 0 AND state NOT IN ('closed', 'surveyed', 'rejected');

-- The wall's counters count the open tickets of a jurisdiction by state, warning, stage and
-- whole-ticket deadline in one pass (queries/screen/open_tickets.py): with these columns in
-- the index the pass reads no table page (city of the large demo: 170 -> 24 ms).
DROP INDEX ticket_open;
CREATE INDEX ticket_open ON ticket (grid_code, stage_due_at)
    INCLUDE (state, stage_warn_at, due_at)
    WHERE state NOT IN ('closed', 'surveyed', 'rejected');
