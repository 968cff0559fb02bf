-- The survey records recomputed from the event log (queries/analytics/rollup_build.py inserts
-- them): one per 'survey' event (a surveyed ticket takes no second survey), the result from the
-- event's data (else the ticket's satisfaction), the ticket's grid and category copied for the
-- scope and category filters.
-- Events written by the survey action carry their channel in the data and the party's comment
-- in the event's comment: those are copied as they are. Events that carry no channel (bulk
-- loaded: the demo, older logs) get a channel drawn from the mix %(channels)s with cumulative
-- bounds %(bounds)s (width_bucket over the thresholds), and, when unsatisfied and %(comments)s
-- is not empty, one of those comments; both draws hash the ticket id with %(seed)s, so the same
-- seed gives the same records. The ticket is joined on its id alone (unique: one sequence).
SELECT e.ticket_id, e.ticket_created_at, t.grid_code, t.category_code, e.at,
       coalesce(e.data ->> 'channel',
                (%(channels)s::text[])[1 + width_bucket(
                    (hashint8extended(e.ticket_id, %(seed)s) & 1048575)::float8 / 1048576,
                    %(bounds)s::float8[])]) AS channel,
       r.result,
       CASE WHEN e.data ? 'channel' OR r.result <> 'unsatisfied'
                 OR cardinality(%(comments)s::text[]) = 0
            THEN e.comment
            ELSE coalesce(e.comment, (%(comments)s::text[])[1 + (
                     (hashint8extended(e.ticket_id, %(seed)s + 1) & 1048575)
                     %% cardinality(%(comments)s::text[]))::int])
       END AS comment,
       e.actor_kind, e.actor_id
FROM ticket_event e
JOIN ticket t ON t.id = e.ticket_id
CROSS JOIN LATERAL (SELECT coalesce(e.data ->> 'satisfaction', t.satisfaction) AS result) r
WHERE e.action = 'survey' AND r.result IS NOT NULL
