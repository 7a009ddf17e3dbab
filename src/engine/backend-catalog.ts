// What PostgreSQL knows across sessions, inside one session's engine. Each engine is the only backend of
// its own PostgreSQL, so the functions that look at other backends (pg_stat_activity, pg_backend_pid,
// pg_cancel_backend, pg_terminate_backend, pg_listening_channels) are replaced by ones that read files
// the server writes into the engine's data directory just before a statement that reads them
// (src/backends). Files, not tables: reading them writes nothing, so they work in read-only and in
// every other kind of transaction, and writing them costs no round trip to the engine.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Files in an engine's data directory, written by the server, read by the functions below. */
export const BACKEND_FILES = {
  /** this session's backend: { pid, nonce, client_addr, client_port, server_addr, server_port } */
  backend: 'keapgres_backend.json',
  /** every backend of the server, as pg_stat_activity shows them */
  activity: 'keapgres_activity.json',
  /** channels the engine listens to only to pass other sessions' notifications on (not the client's) */
  listen: 'keapgres_listen.json',
} as const;

export type BackendFile = keyof typeof BACKEND_FILES;

export async function writeBackendFile(dataDir: string, file: BackendFile, value: unknown): Promise<void> {
  await writeFile(path.join(dataDir, BACKEND_FILES[file]), JSON.stringify(value));
}

export async function removeBackendFile(dataDir: string, file: BackendFile): Promise<void> {
  await rm(path.join(dataDir, BACKEND_FILES[file]), { force: true });
}

/** SQLSTATE of the notice by which the engine asks the server to signal another backend (never reaches a client). */
export const SIGNAL_NOTICE_SQLSTATE = 'KPSIG';

/** Functions of this catalog: their lines are taken out of the CONTEXT of errors and warnings they raise. */
export const BACKEND_FUNCTIONS = ['pg_cancel_backend', 'pg_terminate_backend', 'keapgres_check_signal', 'keapgres_signal_backend'] as const;

const ACTIVITY_COLUMNS = `OUT datid oid, OUT datname name, OUT pid integer, OUT leader_pid integer, OUT usesysid oid, OUT usename name,
  OUT application_name text, OUT client_addr inet, OUT client_hostname text, OUT client_port integer,
  OUT backend_start timestamptz, OUT xact_start timestamptz, OUT query_start timestamptz, OUT state_change timestamptz,
  OUT wait_event_type text, OUT wait_event text, OUT state text, OUT backend_xid xid, OUT backend_xmin xid,
  OUT query_id bigint, OUT query text, OUT backend_type text, OUT ssl boolean, OUT sslversion text, OUT sslcipher text, OUT sslbits integer`;

/**
 * Run once in the template (as the bootstrap superuser, with allow_system_table_mods). The built-in
 * functions are renamed and new ones take their names: a call of a built-in function's OID goes to its C
 * code whatever pg_proc says. Views that call one by OID are made again from their own definitions. The
 * functions that read the files are SECURITY DEFINER and not executable by PUBLIC; the ones clients call
 * decide what the calling role may see or signal, as PostgreSQL's own do.
 */
export const BACKEND_CATALOG_SQL = `
SELECT pg_catalog.set_config('keapgres.pg_stat_ssl', pg_catalog.pg_get_viewdef('pg_catalog.pg_stat_ssl'::regclass), false),
       pg_catalog.set_config('keapgres.pg_stat_gssapi', pg_catalog.pg_get_viewdef('pg_catalog.pg_stat_gssapi'::regclass), false);
ALTER FUNCTION pg_catalog.pg_backend_pid() RENAME TO keapgres_builtin_backend_pid;
ALTER FUNCTION pg_catalog.inet_client_addr() RENAME TO keapgres_builtin_inet_client_addr;
ALTER FUNCTION pg_catalog.inet_client_port() RENAME TO keapgres_builtin_inet_client_port;
ALTER FUNCTION pg_catalog.inet_server_addr() RENAME TO keapgres_builtin_inet_server_addr;
ALTER FUNCTION pg_catalog.inet_server_port() RENAME TO keapgres_builtin_inet_server_port;
ALTER FUNCTION pg_catalog.pg_stat_get_activity(integer) RENAME TO keapgres_builtin_stat_get_activity;
ALTER FUNCTION pg_catalog.pg_listening_channels() RENAME TO keapgres_engine_listening_channels;
ALTER FUNCTION pg_catalog.pg_cancel_backend(integer) RENAME TO keapgres_builtin_cancel_backend;
ALTER FUNCTION pg_catalog.pg_terminate_backend(integer, bigint) RENAME TO keapgres_builtin_terminate_backend;
REVOKE ALL ON FUNCTION pg_catalog.keapgres_builtin_cancel_backend(integer), pg_catalog.keapgres_builtin_terminate_backend(integer, bigint) FROM PUBLIC;

CREATE FUNCTION pg_catalog.keapgres_backend_file(file text) RETURNS json
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT CASE WHEN file IN ('backend', 'activity', 'listen') THEN pg_read_file('keapgres_' || file || '.json', true)::json END $$;
REVOKE ALL ON FUNCTION pg_catalog.keapgres_backend_file(text) FROM PUBLIC;

CREATE FUNCTION pg_catalog.keapgres_backend_info(OUT pid integer, OUT client_addr inet, OUT client_port integer, OUT server_addr inet, OUT server_port integer)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT (b->>'pid')::integer, (b->>'client_addr')::inet, (b->>'client_port')::integer, (b->>'server_addr')::inet, (b->>'server_port')::integer
        FROM (SELECT keapgres_backend_file('backend') AS b) f $$;

CREATE FUNCTION pg_catalog.keapgres_backends(OUT datname text, OUT pid integer, OUT usename text, OUT superuser boolean, OUT application_name text,
    OUT client_addr inet, OUT client_port integer, OUT backend_start timestamptz, OUT xact_start timestamptz, OUT query_start timestamptz,
    OUT state_change timestamptz, OUT wait_event_type text, OUT wait_event text, OUT state text, OUT query text, OUT backend_type text,
    OUT ssl boolean, OUT sslversion text, OUT sslcipher text, OUT sslbits integer)
  RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT * FROM json_to_recordset(COALESCE(keapgres_backend_file('activity'), '[]')) AS b(datname text, pid integer, usename text,
          superuser boolean, application_name text, client_addr inet, client_port integer, backend_start timestamptz, xact_start timestamptz,
          query_start timestamptz, state_change timestamptz, wait_event_type text, wait_event text, state text, query text, backend_type text,
          ssl boolean, sslversion text, sslcipher text, sslbits integer) $$;

-- PostgreSQL shows another role's sessions in full to superusers, members of pg_read_all_stats and roles with
-- that role's privileges. Roles are per engine: a role of another session counts by its name.
CREATE FUNCTION pg_catalog.keapgres_sees_backend(role text) RETURNS boolean
  LANGUAGE sql STABLE SET search_path = pg_catalog
  AS $$ SELECT CASE
    WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN true
    WHEN pg_has_role('pg_read_all_stats', 'USAGE') THEN true
    WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN pg_has_role(role, 'USAGE')
    ELSE false END $$;

CREATE FUNCTION pg_catalog.keapgres_activity(${ACTIVITY_COLUMNS})
  RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog
  AS $$ SELECT (SELECT d.oid FROM pg_database d WHERE d.datname = b.datname), b.datname::name, b.pid, NULL::integer,
      (SELECT r.oid FROM pg_roles r WHERE r.rolname = b.usename), b.usename::name, b.application_name,
      CASE WHEN v.ok THEN b.client_addr END, NULL::text, CASE WHEN v.ok THEN b.client_port END,
      CASE WHEN v.ok THEN b.backend_start END, CASE WHEN v.ok THEN b.xact_start END, CASE WHEN v.ok THEN b.query_start END,
      CASE WHEN v.ok THEN b.state_change END, CASE WHEN v.ok THEN b.wait_event_type END, CASE WHEN v.ok THEN b.wait_event END,
      CASE WHEN v.ok THEN b.state END, NULL::xid, NULL::xid, NULL::bigint,
      CASE WHEN v.ok THEN b.query ELSE '<insufficient privilege>' END, CASE WHEN v.ok THEN b.backend_type END,
      CASE WHEN v.ok THEN b.ssl END, CASE WHEN v.ok THEN b.sslversion END, CASE WHEN v.ok THEN b.sslcipher END, CASE WHEN v.ok THEN b.sslbits END
    FROM keapgres_backends() b CROSS JOIN LATERAL (SELECT keapgres_sees_backend(b.usename) AS ok) v $$;

CREATE OR REPLACE VIEW pg_catalog.pg_stat_activity AS
  SELECT datid, datname, pid, leader_pid, usesysid, usename, application_name, client_addr, client_hostname, client_port,
    backend_start, xact_start, query_start, state_change, wait_event_type, wait_event, state, backend_xid, backend_xmin,
    query_id, query, backend_type
  FROM pg_catalog.keapgres_activity();

CREATE FUNCTION pg_catalog.pg_stat_get_activity(pid integer, OUT datid oid, OUT pid integer, OUT usesysid oid,
    OUT application_name text, OUT state text, OUT query text, OUT wait_event_type text, OUT wait_event text,
    OUT xact_start timestamptz, OUT query_start timestamptz, OUT backend_start timestamptz, OUT state_change timestamptz,
    OUT client_addr inet, OUT client_hostname text, OUT client_port integer, OUT backend_xid xid, OUT backend_xmin xid,
    OUT backend_type text, OUT ssl boolean, OUT sslversion text, OUT sslcipher text, OUT sslbits integer, OUT ssl_client_dn text,
    OUT ssl_client_serial numeric, OUT ssl_issuer_dn text, OUT gss_auth boolean, OUT gss_princ text, OUT gss_enc boolean,
    OUT gss_delegation boolean, OUT leader_pid integer, OUT query_id bigint)
  RETURNS SETOF record LANGUAGE sql STABLE PARALLEL RESTRICTED
  AS $$ SELECT a.datid, a.pid, a.usesysid, a.application_name, a.state, a.query, a.wait_event_type, a.wait_event, a.xact_start,
      a.query_start, a.backend_start, a.state_change, a.client_addr, a.client_hostname, a.client_port, a.backend_xid, a.backend_xmin,
      a.backend_type, a.ssl, a.sslversion, a.sslcipher, a.sslbits, NULL::text, NULL::numeric, NULL::text, false, NULL::text, false,
      false, a.leader_pid, a.query_id
    FROM pg_catalog.keapgres_activity() a WHERE $1 IS NULL OR a.pid = $1 $$;
DO $$ BEGIN
  EXECUTE 'CREATE OR REPLACE VIEW pg_catalog.pg_stat_ssl AS ' || current_setting('keapgres.pg_stat_ssl');
  EXECUTE 'CREATE OR REPLACE VIEW pg_catalog.pg_stat_gssapi AS ' || current_setting('keapgres.pg_stat_gssapi');
END $$;

CREATE FUNCTION pg_catalog.pg_backend_pid() RETURNS integer
  LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$ SELECT pid FROM pg_catalog.keapgres_backend_info() $$;
CREATE FUNCTION pg_catalog.inet_client_addr() RETURNS inet
  LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$ SELECT client_addr FROM pg_catalog.keapgres_backend_info() $$;
CREATE FUNCTION pg_catalog.inet_client_port() RETURNS integer
  LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$ SELECT client_port FROM pg_catalog.keapgres_backend_info() $$;
CREATE FUNCTION pg_catalog.inet_server_addr() RETURNS inet
  LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$ SELECT server_addr FROM pg_catalog.keapgres_backend_info() $$;
CREATE FUNCTION pg_catalog.inet_server_port() RETURNS integer
  LANGUAGE sql STABLE PARALLEL RESTRICTED AS $$ SELECT server_port FROM pg_catalog.keapgres_backend_info() $$;

-- The engine listens to the client's channels and to those other sessions listen to (to see what this
-- session notifies on them); the client sees only its own.
CREATE FUNCTION pg_catalog.keapgres_passed_on_channels() RETURNS text[]
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
  AS $$ SELECT COALESCE(ARRAY(SELECT json_array_elements_text(keapgres_backend_file('listen'))), '{}') $$;
CREATE FUNCTION pg_catalog.pg_listening_channels() RETURNS SETOF text
  LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
  AS $$ SELECT c FROM pg_catalog.keapgres_engine_listening_channels() c WHERE c <> ALL (pg_catalog.keapgres_passed_on_channels()) $$;

-- pg_signal_backend's rules (PostgreSQL 18): 0 may signal, 1 no such backend (warned), 2 lacks the role's
-- privileges, 3 the target is a superuser's and the caller is not a superuser.
CREATE FUNCTION pg_catalog.keapgres_check_signal(target integer) RETURNS integer
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE b record;
BEGIN
  SELECT k.usename, k.superuser INTO b FROM keapgres_backends() k WHERE k.pid = target;
  IF NOT FOUND THEN
    RAISE WARNING 'PID % is not a PostgreSQL backend process', target;
    RETURN 1;
  END IF;
  IF b.superuser THEN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN RETURN 3; END IF;
  ELSIF NOT (pg_has_role('pg_signal_backend', 'USAGE')
             OR CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = b.usename) THEN pg_has_role(b.usename, 'USAGE') ELSE false END) THEN
    RETURN 2;
  END IF;
  RETURN 0;
END $$;

-- The request goes out as a notice the server takes out of the output; the nonce (readable only through
-- this function) keeps a client's own RAISE from passing for one.
CREATE FUNCTION pg_catalog.keapgres_signal_backend(kind text, target integer) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog SET client_min_messages = notice AS $$
BEGIN
  RAISE NOTICE '% % %', kind, target, keapgres_backend_file('backend')->>'nonce' USING ERRCODE = '${SIGNAL_NOTICE_SQLSTATE}';
END $$;
REVOKE ALL ON FUNCTION pg_catalog.keapgres_signal_backend(text, integer) FROM PUBLIC;

CREATE FUNCTION pg_catalog.pg_cancel_backend(integer) RETURNS boolean
  LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE r integer := keapgres_check_signal($1);
BEGIN
  IF r = 3 THEN
    RAISE EXCEPTION 'permission denied to cancel query' USING ERRCODE = '42501',
      DETAIL = 'Only roles with the SUPERUSER attribute may cancel queries of roles with the SUPERUSER attribute.';
  ELSIF r = 2 THEN
    RAISE EXCEPTION 'permission denied to cancel query' USING ERRCODE = '42501',
      DETAIL = 'Only roles with privileges of the role whose query is being canceled or with privileges of the "pg_signal_backend" role may cancel this query.';
  ELSIF r = 1 THEN
    RETURN false;
  END IF;
  IF $1 = pg_backend_pid() THEN
    RAISE EXCEPTION 'canceling statement due to user request' USING ERRCODE = '57014';
  END IF;
  PERFORM keapgres_signal_backend('cancel', $1);
  RETURN true;
END $$;

CREATE FUNCTION pg_catalog.pg_terminate_backend(pid integer, timeout bigint DEFAULT 0) RETURNS boolean
  LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE r integer;
BEGIN
  IF $2 < 0 THEN
    RAISE EXCEPTION '"timeout" must not be negative' USING ERRCODE = '22003';
  END IF;
  r := keapgres_check_signal($1);
  IF r = 3 THEN
    RAISE EXCEPTION 'permission denied to terminate process' USING ERRCODE = '42501',
      DETAIL = 'Only roles with the SUPERUSER attribute may terminate processes of roles with the SUPERUSER attribute.';
  ELSIF r = 2 THEN
    RAISE EXCEPTION 'permission denied to terminate process' USING ERRCODE = '42501',
      DETAIL = 'Only roles with privileges of the role whose process is being terminated or with privileges of the "pg_signal_backend" role may terminate this process.';
  ELSIF r = 1 THEN
    RETURN false;
  END IF;
  PERFORM keapgres_signal_backend('terminate', $1);
  RETURN true;
END $$;
`;
