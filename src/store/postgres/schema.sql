-- The schema of PostgresStore, applied by PostgresStore::migrate(). `{table}` is the configured
-- table name. Every statement is idempotent: migrate() may run on every start, from every
-- server at once (it holds an advisory lock while it runs).
--
-- One row per session: identifiers and times only, never a token. Times are seconds since the
-- Unix epoch, as SessionRecord keeps them. `format` is the version of this row layout, read by
-- the store before it trusts a row.
CREATE TABLE IF NOT EXISTS {table} (
    sid              bytea    PRIMARY KEY,
    subject          text     NOT NULL,
    access_jti       bytea    NOT NULL,
    access_iat       bigint   NOT NULL,
    access_exp       bigint   NOT NULL,
    refresh_jti      bytea    NOT NULL,
    refresh_iat      bigint   NOT NULL,
    -- The session's absolute end: rotation never moves it.
    refresh_exp      bigint   NOT NULL,
    previous_refresh bytea,
    refreshed_at     bigint,
    revoked          boolean  NOT NULL DEFAULT false,
    format           smallint NOT NULL DEFAULT 1
);
-- "Log out everywhere" and the per-subject limit: a subject's live sessions by end. Partial, so
-- a revoked session leaves it and every page of a revocation reads live sessions only.
CREATE INDEX IF NOT EXISTS {index_prefix}_live ON {table} (subject, refresh_exp) WHERE NOT revoked;
-- Sweeping ended sessions.
CREATE INDEX IF NOT EXISTS {index_prefix}_end ON {table} (refresh_exp);
