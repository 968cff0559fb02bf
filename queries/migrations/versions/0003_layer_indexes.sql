-- Map layers at city scale: covering indexes so the heat and overdue layers never read the
-- ticket table for the rows they skip (index-only scans once the pages are all-visible; the
-- demo loader vacuums after a load).

-- Heat: tickets created in a time window, counted per grid or per cell.
CREATE INDEX ticket_created_cover ON ticket (created_at)
    INCLUDE (grid_code, category_code, urgency, geom);

-- Overdue layer and supervision ladder: the clocks of open tickets, filtered in the index.
CREATE INDEX ticket_open_clock ON ticket (grid_code)
    INCLUDE (state, stage, stage_started_at, stage_warn_at, stage_due_at, rework_count,
             category_code, geom, ticket_no, id)
    WHERE state NOT IN ('closed', 'surveyed', 'rejected');
