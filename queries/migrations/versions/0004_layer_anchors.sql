-- Map layers, second pass (measured on the large demo, 10,995 grids, 5 M tickets).

-- The heat layer places each grid's tickets at a point inside the grid. Computing
-- ST_PointOnSurface per request detoasted every grid polygon (~30 ms of a 150 ms query); the
-- point is a pure function of the geometry, so it is stored next to it.
ALTER TABLE grid
    ADD COLUMN anchor geometry(Point, 4326)
    GENERATED ALWAYS AS (ST_PointOnSurface(geom)) STORED;

-- The overdue layer asks for open tickets in warning or overdue. Every such ticket has
-- stage_warn_at <= now (the warning instant precedes the due instant), so a key on
-- stage_warn_at reads those ~10 % of the open tickets instead of filtering all of them.
CREATE INDEX ticket_open_warn ON ticket (stage_warn_at)
    INCLUDE (grid_code, state, stage, stage_started_at, stage_due_at, rework_count,
             category_code, geom, ticket_no, id)
    WHERE state NOT IN ('closed', 'surveyed', 'rejected');
