-- Who is asking (issue #9): accounts, wall links, the audit trail, roles on API tokens.
-- Roles and tiers are defined in domain/access.py; the CHECKs here repeat the role names so a
-- row no policy knows cannot be written.

CREATE TABLE app_user (
    id             bigserial PRIMARY KEY,
    username       text COLLATE "C" NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{1,31}$'),
    display_name   text NOT NULL DEFAULT '',
    role           text NOT NULL
                   CHECK (role IN ('wall', 'leader', 'analyst', 'dispatcher', 'admin')),
    jurisdiction   text COLLATE "C" NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    -- Bumped on a password, role, jurisdiction or active change: sessions carry the epoch they
    -- were opened at and die when it moves.
    session_epoch  integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);

-- A wall cannot type a password: a long random secret in a link opens a wall session bound to
-- a jurisdiction and a layout. Only the SHA-256 of the secret is stored.
CREATE TABLE wall_link (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    secret_hash   text NOT NULL UNIQUE,
    jurisdiction  text COLLATE "C" NOT NULL,
    layout        text NOT NULL DEFAULT 'standard',
    created_by    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_seen_at  timestamptz,
    last_address  text
);

-- Append-only audit trail: who (kind, id, name, role, jurisdiction), what, which objects, from
-- where, when. UPDATE is refused; DELETE only by the retention purge (queries.audit.purge),
-- which sets gridscope.audit_purge for its own transaction.
CREATE TABLE audit_event (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_kind    text NOT NULL CHECK (actor_kind IN ('user', 'wall', 'token', 'anonymous', 'cli')),
    actor_id      bigint,
    actor_name    text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT '',
    jurisdiction  text COLLATE "C" NOT NULL DEFAULT '',
    action        text NOT NULL,
    object        text NOT NULL DEFAULT '',
    object_ids    text[] NOT NULL DEFAULT '{}',
    count         integer,
    tier          smallint,
    outcome       text NOT NULL DEFAULT 'ok',
    client_addr   text NOT NULL DEFAULT '',
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_at ON audit_event (at DESC);
CREATE INDEX audit_event_actor ON audit_event (actor_kind, actor_name, at DESC);
CREATE INDEX audit_event_action ON audit_event (action, at DESC);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gridscope.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

-- API tokens carry a role too (tier of the data they read back, write permission).
ALTER TABLE api_token ADD COLUMN role text NOT NULL DEFAULT 'dispatcher'
    CHECK (role IN ('wall', 'leader', 'analyst', 'dispatcher', 'admin'));
