-- Ingest: API tokens bound to a jurisdiction, idempotency of creations, import runs.

-- API tokens: only a SHA-256 of the secret is stored; prefix identifies a token in logs.
CREATE TABLE api_token (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL UNIQUE,
    token_hash   text NOT NULL UNIQUE,
    scope_prefix text COLLATE "C" NOT NULL,
    can_write    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- One ticket per external id within a namespace ('api' for API clients, the mapping name for
-- file imports such as 'boston311'): a retried request or a re-run import creates nothing twice.
CREATE TABLE ticket_external (
    namespace         text NOT NULL,
    external_id       text NOT NULL,
    ticket_id         bigint NOT NULL,
    ticket_created_at timestamptz NOT NULL,
    PRIMARY KEY (namespace, external_id)
);
CREATE INDEX ticket_external_ticket ON ticket_external (ticket_id);

-- Idempotency-Key: the first response to a key is replayed for the same request.
CREATE TABLE idempotency_key (
    token_id     bigint NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, key)
);

-- File imports: what was read, what was loaded and what was refused.
CREATE TABLE import_run (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('grids', 'tickets')),
    file_name     text NOT NULL,
    file_sha256   text NOT NULL,
    options       jsonb NOT NULL DEFAULT '{}',
    dry_run       boolean NOT NULL DEFAULT false,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    rows_total    integer NOT NULL DEFAULT 0,
    rows_loaded   integer NOT NULL DEFAULT 0,
    rows_skipped  integer NOT NULL DEFAULT 0,
    rows_rejected integer NOT NULL DEFAULT 0,
    report        jsonb
);

-- The screen's day-range sums read only this index (index-only scans over the rollup).
CREATE INDEX stat_daily_day_covering ON stat_daily (day)
    INCLUDE (grid_code, category_code, created, reported, self_resolved, closed, closed_on_time,
             reworked);
