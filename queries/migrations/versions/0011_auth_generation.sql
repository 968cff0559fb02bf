-- The auth generation (issue #10). A wall polls its feeds every few seconds; verifying its
-- session against wall_link on every poll was the largest cost of a feed request. A process
-- may now reuse a principal it verified while this generation has not moved
-- (gridscope/auth/principals.py, which re-reads it about once a second on the primary).
-- Every change that can end or narrow a session moves it: an account's role, jurisdiction,
-- active flag, password or epoch; a wall link's revocation, jurisdiction or layout; a
-- deletion or truncation of either table. last_login_at and last_seen_at do not.
-- A one-row table, not a sequence: nextval is visible before the change commits, and a
-- process that re-verified in between would keep the old principal under the new number.
CREATE TABLE auth_generation (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO auth_generation DEFAULT VALUES;

CREATE FUNCTION bump_auth_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER app_user_auth_generation
    AFTER UPDATE OF role, jurisdiction, active, password_hash, session_epoch OR DELETE OR TRUNCATE
    ON app_user FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();

CREATE TRIGGER wall_link_auth_generation
    AFTER UPDATE OF revoked_at, jurisdiction, layout OR DELETE OR TRUNCATE
    ON wall_link FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
