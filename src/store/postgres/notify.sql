-- The near cache's notifications, applied by PostgresStore::migrate() after schema.sql when the
-- store has the near cache on. `{table}` is the table, `{channel}` its channel as a string
-- literal. Idempotent, like schema.sql.
--
-- Every change of a session row (an update, a deletion) sends the session's id to the table's
-- channel from the transaction that makes it, so listeners hear of it exactly when it commits.
-- A trigger rather than a call in each of the store's statements: it covers every write, the
-- store's and any other. Its cost: a transaction that notifies holds a server-wide lock from just
-- before its commit until the commit is done, so such writes commit one after the other.
CREATE OR REPLACE FUNCTION {table}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify({channel}, encode(OLD.sid, 'hex'));
    RETURN NULL;
END
$$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = '{table}'::regclass AND tgname = 'tower_jwt_auth_notify') THEN
        CREATE TRIGGER tower_jwt_auth_notify AFTER UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_notify();
    END IF;
END
$$;
