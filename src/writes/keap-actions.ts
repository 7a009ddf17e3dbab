// Keap actions that are not row writes, as functions in the `keap` schema: campaign sequences, email opt-in and
// opt-out, sending an email, completing a task, and CData's OAuth procedures. Each function is a stub in the
// engine: as with writes, the statement first runs with the functions recording their arguments (the engine
// evaluates them, row by row if the statement says so), keapgres makes the calls — in bulk where Keap can — and
// stages the answers, then the statement runs for real and each function returns its answer.
import { SqlError, SQLSTATE } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';
import type { KeapConnector } from '../keap/connector.js';
import { quoteLiteral } from '../schema/ddl.js';
import { registerSecret } from '../log/logger.js';
import type { ClientStatement } from './engine-rows.js';
import { keapMessageOf, sqlstateOf } from './keap-errors.js';
import { xmlRpcCall } from './xml-rpc.js';

/** The OAuth app of the connection, for CData's OAuth procedures (secrets never leave keapgres but as results). */
export interface OAuthApp {
  clientId?: string;
  clientSecret?: string;
  authorizationUrl: string;
  tokenUrl: string;
  callbackUrl: string;
}

type Fn = (args: string) => string;
const call: Fn = (args) => `keap._call(%NAME%, ${args})`;

interface ActionDef {
  name: string;
  signature: string;
  returns: string;
  /** the SQL expression of the result from `r` (the staged jsonb) */
  result: string;
  args: string;
  comment: string;
}

const ACTIONS: ActionDef[] = [
  {
    name: 'add_to_campaign_sequence', signature: 'contact_id bigint, campaign_id bigint, sequence_id bigint', returns: 'text',
    args: "jsonb_build_object('contact_id', contact_id, 'campaign_id', campaign_id, 'sequence_id', sequence_id)", result: "r ->> 'result'",
    comment: `Adds the contact to a sequence of a campaign (POST /v2/campaigns/{campaign_id}/sequences/{sequence_id}:addContacts, one call per sequence for up to 1,000 contacts); returns Keap's result for the contact.`,
  },
  {
    name: 'remove_from_campaign_sequence', signature: 'contact_id bigint, campaign_id bigint, sequence_id bigint', returns: 'text',
    args: "jsonb_build_object('contact_id', contact_id, 'campaign_id', campaign_id, 'sequence_id', sequence_id)", result: "r ->> 'result'",
    comment: `Removes the contact from a sequence of a campaign (POST …:removeContacts, one call per sequence for up to 1,000 contacts); returns Keap's result for the contact.`,
  },
  {
    name: 'opt_in_email', signature: 'contact_id bigint, reason text', returns: 'boolean',
    args: "jsonb_build_object('contact_id', contact_id, 'reason', reason)", result: "(r ->> 'result')::boolean",
    comment: `Opts the contact's primary email address in to marketing, with the reason Keap records (PATCH /v1/contacts/{id} with opt_in_reason).`,
  },
  {
    name: 'opt_out_email', signature: 'contact_id bigint, reason text', returns: 'boolean',
    args: "jsonb_build_object('contact_id', contact_id, 'reason', reason)", result: "(r ->> 'result')::boolean",
    comment: `Opts the contact's primary email address out of marketing, with the reason: its address is read (GET /v2/contacts/{id}), then opted out through Keap's XML-RPC APIEmailService.optOut (REST has no call for it); true when Keap opted it out, false when the contact has no address.`,
  },
  {
    name: 'send_email', signature: 'contact_id bigint, user_id bigint, subject text, html_content text DEFAULT NULL, plain_content text DEFAULT NULL', returns: 'boolean',
    args: "jsonb_build_object('contact_id', contact_id, 'user_id', user_id, 'subject', subject, 'html_content', html_content, 'plain_content', plain_content)", result: "(r ->> 'result')::boolean",
    comment: `Sends an email from the user to the contact (POST /v2/emails:send, one call for every contact of the same message); true once Keap accepted it.`,
  },
  {
    name: 'complete_task', signature: 'task_id bigint', returns: 'boolean',
    args: "jsonb_build_object('task_id', task_id)", result: "(r ->> 'result')::boolean",
    comment: `Marks the task completed (PATCH /v2/tasks/{id} with completed = true); tasks shows it at once.`,
  },
];

const OAUTH: Array<ActionDef & { columns: string }> = [
  {
    name: 'getoauthauthorizationurl', signature: 'callbackurl text DEFAULT NULL, scope text DEFAULT NULL, state text DEFAULT NULL', returns: 'TABLE (url text)', columns: 'url',
    args: "jsonb_build_object('callbackurl', callbackurl, 'scope', scope, 'state', state)", result: '',
    comment: `CData's GetOAuthAuthorizationURL: the URL where the Keap account's owner approves this app (no call is made).`,
  },
  {
    name: 'getoauthaccesstoken', signature: 'verifier text, callbackurl text DEFAULT NULL', returns: 'TABLE (oauthaccesstoken text, oauthrefreshtoken text, expiresin integer)', columns: 'oauthaccesstoken, oauthrefreshtoken, expiresin',
    args: "jsonb_build_object('verifier', verifier, 'callbackurl', callbackurl)", result: '',
    comment: `CData's GetOAuthAccessToken: exchanges the authorization code (verifier) for an access and a refresh token.`,
  },
  {
    name: 'refreshoauthaccesstoken', signature: 'oauthrefreshtoken text', returns: 'TABLE (oauthaccesstoken text, oauthrefreshtoken text, expiresin integer)', columns: 'oauthaccesstoken, oauthrefreshtoken, expiresin',
    args: "jsonb_build_object('oauthrefreshtoken', oauthrefreshtoken)", result: '',
    comment: `CData's RefreshOAuthAccessToken: a new access token (and, Keap rotating them, a new refresh token) for a refresh token.`,
  },
];

/** The `keap` schema and its functions, made in every engine's template. */
export const KEAP_ACTIONS_SQL = `
CREATE SCHEMA keap;
COMMENT ON SCHEMA keap IS 'Keap actions that are not row writes, as functions: each call becomes a Keap API call when the statement runs.';
CREATE FUNCTION keap._call(fn text, args jsonb) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $keapgres$
DECLARE r jsonb;
BEGIN
  IF pg_catalog.current_setting('keapgres.action_phase', true) = 'capture' THEN
    EXECUTE 'INSERT INTO pg_temp.keapgres_action_calls (fn, args) VALUES ($1, $2)' USING fn, args;
    RETURN NULL;
  END IF;
  IF pg_catalog.to_regclass('pg_temp.keapgres_action_results') IS NOT NULL THEN
    EXECUTE 'SELECT result FROM pg_temp.keapgres_action_results WHERE fn = $1 AND args = $2 LIMIT 1' INTO r USING fn, args;
    IF r IS NOT NULL THEN RETURN r; END IF;
  END IF;
  RAISE EXCEPTION 'keap.% was not called through keapgres', fn USING ERRCODE = '0A000',
    HINT = 'Call Keap actions in a statement of its own, outside a transaction block (or with keapgres.keap_writes = ''immediate'').';
END $keapgres$;
COMMENT ON FUNCTION keap._call(text, jsonb) IS 'keapgres internal: what the keap.* functions return.';
${ACTIONS.map((a) => `CREATE FUNCTION keap.${a.name}(${a.signature}) RETURNS ${a.returns} LANGUAGE sql VOLATILE
  AS $keapgres$ SELECT ${a.result.replace(/\br\b/g, call(a.args).replace('%NAME%', `'${a.name}'`))} $keapgres$;
COMMENT ON FUNCTION keap.${a.name} IS ${quoteLiteral(a.comment)};`).join('\n')}
${OAUTH.map((a) => `CREATE FUNCTION keap.${a.name}(${a.signature}) RETURNS ${a.returns} LANGUAGE sql VOLATILE
  AS $keapgres$ SELECT ${a.columns.split(', ').map((c) => `(j ->> '${c}')${c === 'expiresin' ? '::integer' : ''}`).join(', ')}
  FROM (SELECT ${call(a.args).replace('%NAME%', `'${a.name}'`)} AS j) s WHERE j IS NOT NULL $keapgres$;
COMMENT ON FUNCTION keap.${a.name} IS ${quoteLiteral(a.comment)};`).join('\n')}
`;

const NAMES = [...ACTIONS, ...OAUTH].map((a) => a.name);

/** Whether a statement may call a keap.* function (a mention is enough: the capture decides). */
export function callsKeapActions(sql: string): boolean {
  return new RegExp(`\\bkeap\\s*\\.\\s*"?(${NAMES.join('|')})"?\\s*\\(`, 'i').test(sql);
}

interface Captured {
  fn: string;
  args: Record<string, unknown>;
  argsText: string;
}

export interface ActionOutcome {
  /** task records Keap returned (complete_task): the cache and the engine take them */
  taskRecords: unknown[];
  /** contacts whose email status the calls changed (opt-in, opt-out): the cache reads them back */
  contactIds: string[];
  calls: number;
}

/** Runs the statement to find its keap.* calls, makes them, and stages the answers for the statement's real run. */
export async function runKeapActions(engine: EngineInstance, connector: KeapConnector, stmt: ClientStatement, inTransaction: boolean, signal: AbortSignal, oauth?: OAuthApp): Promise<ActionOutcome> {
  await engine.query(`CREATE TEMP TABLE IF NOT EXISTS keapgres_action_calls (n serial, fn text, args jsonb);
CREATE TEMP TABLE IF NOT EXISTS keapgres_action_results (fn text, args jsonb, result jsonb);
TRUNCATE pg_temp.keapgres_action_calls, pg_temp.keapgres_action_results`);
  const sql = stmt.sql.replace(/;\s*$/, '');
  const run = stmt.params?.length
    ? [`PREPARE keapgres_a_stmt AS ${sql}`, `EXECUTE keapgres_a_stmt(${stmt.params.map((p) => (p === null || p === undefined ? 'NULL' : quoteLiteral(p))).join(', ')})`, 'DEALLOCATE keapgres_a_stmt']
    : [sql];
  // the calls are read before the rollback that undoes whatever else the statement did
  const begin = inTransaction ? 'SAVEPOINT keapgres_a' : 'BEGIN';
  try {
    await engine.query([begin, "SET LOCAL keapgres.action_phase = 'capture'", ...run].join(';\n'));
  } catch (err) {
    await engine.query(inTransaction ? 'ROLLBACK TO SAVEPOINT keapgres_a' : 'ROLLBACK').catch(() => undefined);
    await engine.query('DEALLOCATE keapgres_a_stmt').catch(() => undefined);
    throw err;
  }
  const { rows } = await engine.query('SELECT fn, args::text AS a FROM pg_temp.keapgres_action_calls ORDER BY n');
  await engine.query(inTransaction ? 'ROLLBACK TO SAVEPOINT keapgres_a; RELEASE SAVEPOINT keapgres_a' : 'ROLLBACK');
  const seen = new Set<string>();
  const captured: Captured[] = [];
  for (const r of rows) {
    const key = `${r.fn}\u0000${r.a}`;
    if (seen.has(key)) continue; // the same call twice is made once
    seen.add(key);
    captured.push({ fn: String(r.fn), args: JSON.parse(String(r.a)) as Record<string, unknown>, argsText: String(r.a) });
  }
  const results: Array<[Captured, unknown]> = [];
  const outcome: ActionOutcome = { taskRecords: [], contactIds: [], calls: 0 };
  const send = async (method: string, path: string, body: unknown, idempotent: boolean, query: Array<[string, string]> = []) => {
    outcome.calls++;
    const res = await connector.send(method, path, query, body, signal, idempotent);
    if (res.status < 200 || res.status >= 300) {
      const message = keapMessageOf(res.body, res.bodyText) || `HTTP ${res.status}`;
      throw new SqlError(res.status === 404 ? '23503' : sqlstateOf(res.status, message), `Keap refused ${method} ${path}: ${message}`, {
        detail: results.length ? `${results.length} of ${captured.length} keap.* calls were made before it.` : undefined,
      });
    }
    return res;
  };
  // bulk: sequences per (campaign, sequence); emails per message
  const groups = new Map<string, Captured[]>();
  for (const c of captured) {
    if (c.fn === 'add_to_campaign_sequence' || c.fn === 'remove_from_campaign_sequence') groupPush(groups, `${c.fn}/${c.args.campaign_id}/${c.args.sequence_id}`, c);
    else if (c.fn === 'send_email') groupPush(groups, `send/${JSON.stringify([c.args.user_id, c.args.subject, c.args.html_content, c.args.plain_content])}`, c);
  }
  for (const [key, list] of groups) {
    if (signal.aborted) throw new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request', { detail: `${results.length} of ${captured.length} keap.* calls were made before the cancel.` });
    const first = list[0]!;
    for (let i = 0; i < list.length; i += 1000) {
      const chunk = list.slice(i, i + 1000);
      const ids = chunk.map((c) => String(c.args.contact_id));
      if (key.startsWith('send/')) {
        const b64 = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'utf8').toString('base64') : undefined);
        await send('POST', '/v2/emails:send', { contacts: ids, user_id: String(first.args.user_id), subject: first.args.subject, html_content: b64(first.args.html_content), plain_content: b64(first.args.plain_content) }, false);
        for (const c of chunk) results.push([c, { result: true }]);
      } else {
        const verb = first.fn === 'add_to_campaign_sequence' ? 'addContacts' : 'removeContacts';
        const res = await send('POST', `/v2/campaigns/${encodeURIComponent(String(first.args.campaign_id))}/sequences/${encodeURIComponent(String(first.args.sequence_id))}:${verb}`, { contact_ids: ids }, true);
        const per = (res.body as Record<string, Record<string, string>> | undefined)?.[verb === 'addContacts' ? 'add_to_sequence_results' : 'remove_from_sequence_results'] ?? {};
        for (const c of chunk) results.push([c, { result: per[String(c.args.contact_id)] ?? 'SUCCESS' }]);
      }
    }
  }
  const grouped = new Set(['add_to_campaign_sequence', 'remove_from_campaign_sequence', 'send_email']);
  for (const c of captured) {
    if (grouped.has(c.fn)) continue;
    if (signal.aborted) throw new SqlError(SQLSTATE.queryCanceled, 'canceling statement due to user request', { detail: `${results.length} of ${captured.length} keap.* calls were made before the cancel.` });
    switch (c.fn) {
      case 'opt_in_email':
        await send('PATCH', `/v1/contacts/${encodeURIComponent(String(c.args.contact_id))}`, { opt_in_reason: String(c.args.reason ?? 'Opted in through keapgres') }, true);
        results.push([c, { result: true }]);
        outcome.contactIds.push(String(c.args.contact_id));
        break;
      case 'opt_out_email': {
        // XML-RPC opts an address out, not a contact: the contact's primary address as Keap has it now
        const id = String(c.args.contact_id);
        const got = await send('GET', `/v2/contacts/${encodeURIComponent(id)}`, undefined, true, [['fields', 'email_addresses']]);
        const addresses = ((got.body as { email_addresses?: Array<{ email?: string; field?: string }> } | undefined)?.email_addresses ?? []);
        const primary = addresses.find((a) => a.field === 'EMAIL1')?.email;
        if (!primary) {
          results.push([c, { result: false }]);
          break;
        }
        outcome.calls++;
        const answer = await xmlRpcCall(connector, 'APIEmailService.optOut', [primary, String(c.args.reason ?? 'Opted out through keapgres')], signal);
        results.push([c, { result: answer === true }]);
        outcome.contactIds.push(id);
        break;
      }
      case 'complete_task': {
        const res = await send('PATCH', `/v2/tasks/${encodeURIComponent(String(c.args.task_id))}`, { completed: true }, true);
        outcome.taskRecords.push(res.body);
        results.push([c, { result: true }]);
        break;
      }
      case 'getoauthauthorizationurl':
      case 'getoauthaccesstoken':
      case 'refreshoauthaccesstoken':
        results.push([c, await oauthProcedure(c, oauth, signal)]);
        outcome.calls += c.fn === 'getoauthauthorizationurl' ? 0 : 1;
        break;
    }
  }
  if (results.length) {
    const values = results.map(([c, r]) => `(${quoteLiteral(c.fn)}, ${quoteLiteral(c.argsText)}::jsonb, ${quoteLiteral(JSON.stringify(r))}::jsonb)`);
    await engine.query(`INSERT INTO pg_temp.keapgres_action_results VALUES ${values.join(', ')}`);
  }
  return outcome;
}

function groupPush(groups: Map<string, Captured[]>, key: string, c: Captured): void {
  let list = groups.get(key);
  if (!list) groups.set(key, (list = []));
  list.push(c);
}

/** CData's OAuth procedures, against the connection's OAuth app. */
async function oauthProcedure(c: Captured, app: OAuthApp | undefined, signal: AbortSignal): Promise<Record<string, unknown>> {
  if (!app?.clientId) {
    throw new SqlError('28000', `keap.${c.fn} needs an OAuth app`, { hint: 'Set OAuthClientId and OAuthClientSecret in the connection string (AuthScheme=OAuth).' });
  }
  const callback = typeof c.args.callbackurl === 'string' ? c.args.callbackurl : app.callbackUrl;
  if (c.fn === 'getoauthauthorizationurl') {
    const u = new URL(app.authorizationUrl);
    u.searchParams.set('client_id', app.clientId);
    u.searchParams.set('redirect_uri', callback);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('scope', typeof c.args.scope === 'string' ? c.args.scope : 'full');
    if (typeof c.args.state === 'string') u.searchParams.set('state', c.args.state);
    return { url: u.toString() };
  }
  // Keap's token endpoint (reference §2.1): the code grant takes the client credentials in the form, the refresh
  // grant as HTTP Basic
  // the code and the tokens are secrets: log lines (the statement's text included) never show them
  registerSecret(typeof c.args.verifier === 'string' ? c.args.verifier : undefined);
  registerSecret(typeof c.args.oauthrefreshtoken === 'string' ? c.args.oauthrefreshtoken : undefined);
  const form = new URLSearchParams();
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (c.fn === 'getoauthaccesstoken') {
    form.set('client_id', app.clientId);
    form.set('client_secret', app.clientSecret ?? '');
    form.set('grant_type', 'authorization_code');
    form.set('code', String(c.args.verifier ?? ''));
    form.set('redirect_uri', callback);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret ?? ''}`).toString('base64')}`;
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', String(c.args.oauthrefreshtoken ?? ''));
  }
  const res = await fetch(app.tokenUrl, { method: 'POST', headers, body: form.toString(), signal });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body.access_token !== 'string') {
    // the token endpoint's own words, never the secrets sent
    throw new SqlError('28000', `Keap's token endpoint refused the ${c.fn === 'getoauthaccesstoken' ? 'authorization code' : 'refresh token'}`, {
      detail: `HTTP ${res.status}: ${String(body.error_description ?? body.error ?? '')}`.trim(),
    });
  }
  registerSecret(body.access_token);
  registerSecret(typeof body.refresh_token === 'string' ? body.refresh_token : undefined);
  return { oauthaccesstoken: body.access_token, oauthrefreshtoken: body.refresh_token ?? null, expiresin: body.expires_in ?? null };
}
