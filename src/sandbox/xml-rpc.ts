// Keap's legacy XML-RPC endpoint (POST /crm/xmlrpc/v1, reference §10), for the one method keapgres uses:
// APIEmailService.optOut(key, email, reason) → boolean. Requests and answers are XML-RPC as Keap's server (Apache
// XML-RPC) speaks it: a methodCall in, a methodResponse out — a boolean param, or a fault struct {faultCode,
// faultString} with HTTP 200 for a request it cannot run (malformed XML, an unknown method, arguments of the wrong
// number or types, an invalid address). Authentication is the gateway's, as for REST: the leading key argument is
// any string (Keap's SDKs send a placeholder and authenticate by header).
import type { EmailStatus } from './model.js';
import type { Reply, Route, RouteEnv } from './routes.js';

type XValue = string | number | boolean | null | XValue[] | { [k: string]: XValue } | { int: number } | { double: number };

class Fault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Statuses an address can no longer be opted out of: it is out already. */
const OUT: ReadonlySet<EmailStatus> = new Set(['NON_MARKETABLE', 'UNENGAGED_NON_MARKETABLE', 'LOCKDOWN', 'BOUNCE', 'HARD_BOUNCE', 'MANUAL', 'ADMIN', 'SYSTEM', 'LIST_UNSUBSCRIBE', 'FEEDBACK', 'SPAM', 'INVALID', 'DEACTIVATED']);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function xmlRpcRoutes(env: RouteEnv): Route[] {
  const s = env.store;
  const handlers: Record<string, (args: XValue[], now: number) => XValue> = {
    // Opts an address out of marketing, wherever it is a contact's address: the status becomes ADMIN ("Unsubscribed
    // (Admin opt-out)": opted out by the account, not by the contact) and the contacts' update time moves. True when
    // the account has the address; an address already opted out stays as it is.
    'APIEmailService.optOut': (args, now) => {
      if (args.length !== 3 || !args.every((a) => typeof a === 'string')) throw noMatch(args);
      const email = (args[1] as string).trim();
      if (!EMAIL.test(email)) throw new Fault(0, `[InvalidParameter]Invalid email address: ${email}`);
      let found = false;
      for (const c of s.contacts.scan()) {
        if (!c.emails.some((e) => e.email.toLowerCase() === email.toLowerCase())) continue;
        found = true;
        const emails = c.emails.map((e) => (e.email.toLowerCase() === email.toLowerCase() && !OUT.has(e.status) ? { ...e, status: 'ADMIN' as const } : e));
        if (emails.some((e, i) => e !== c.emails[i])) s.contacts.put({ ...c, emails, updatedAt: Math.max(now, c.updatedAt + 1) });
      }
      return found;
    },
  };
  const handle = (body: unknown, now: number): Reply => {
    let xml: string;
    try {
      const call = parseMethodCall(String(body ?? ''));
      const fn = handlers[call.method];
      if (!fn) throw new Fault(0, `No such handler: ${call.method}`);
      xml = `<?xml version="1.0" encoding="UTF-8"?><methodResponse><params><param><value>${encode(fn(call.params, now))}</value></param></params></methodResponse>`;
    } catch (e) {
      const f = e instanceof Fault ? e : new Fault(0, `Failed to parse XML-RPC request: ${(e as Error).message}`);
      xml = `<?xml version="1.0" encoding="UTF-8"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><i4>${f.code}</i4></value></member><member><name>faultString</name><value>${escape(f.message)}</value></member></struct></value></fault></methodResponse>`;
    }
    return { status: 200, text: xml, contentType: 'text/xml;charset=UTF-8' };
  };
  return ['/crm/xmlrpc/v1', '/crm/xmlrpc'].map((pattern) => ({ method: 'POST', pattern, version: 'other' as const, rawBody: true, handle: (c) => handle(c.body, c.now) }));
}

/** Apache XML-RPC's answer to arguments no method takes: their Java types. */
function noMatch(args: XValue[]): Fault {
  const java = (v: XValue): string => typeof v === 'string' ? 'java.lang.String' : typeof v === 'boolean' ? 'java.lang.Boolean'
    : v === null ? 'null' : Array.isArray(v) ? '[Ljava.lang.Object;' : typeof v === 'object' && 'int' in v ? 'java.lang.Integer'
      : typeof v === 'object' && 'double' in v ? 'java.lang.Double' : 'java.util.HashMap';
  return new Fault(0, `No method matching arguments: ${args.map(java).join(', ')}`);
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function encode(v: XValue): string {
  if (typeof v === 'boolean') return `<boolean>${v ? 1 : 0}</boolean>`;
  if (typeof v === 'string') return `<string>${escape(v)}</string>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<i4>${v}</i4>` : `<double>${v}</double>`;
  if (v === null) return '<nil/>';
  if (Array.isArray(v)) return `<array><data>${v.map((x) => `<value>${encode(x)}</value>`).join('')}</data></array>`;
  if ('int' in v && typeof v.int === 'number') return `<i4>${v.int}</i4>`;
  if ('double' in v && typeof v.double === 'number') return `<double>${v.double}</double>`;
  return `<struct>${Object.entries(v).map(([k, x]) => `<member><name>${escape(k)}</name><value>${encode(x as XValue)}</value></member>`).join('')}</struct>`;
}

// ---- a small XML reader, enough for methodCall ---------------------------------------------------------------

type Node = { tag: string; children: Node[]; text: string };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (m, e: string) => {
    if (e === 'lt') return '<'; if (e === 'gt') return '>'; if (e === 'amp') return '&'; if (e === 'quot') return '"'; if (e === 'apos') return "'";
    const n = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(n) && n <= 0x10ffff ? String.fromCodePoint(n) : m;
  });
}

function parseXml(xml: string): Node {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error('DOCTYPE is not allowed');
  const body = xml.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const root: Node = { tag: '#root', children: [], text: '' };
  const stack: Node[] = [root];
  const re = /<(\/?)([A-Za-z_][\w.:-]*)\s*(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)|(<)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    const top = stack[stack.length - 1]!;
    if (m[6] !== undefined) throw new Error('Content is not allowed in a tag');
    if (m[5] !== undefined) { top.text += decodeEntities(m[5]); continue; }
    if (m[4] !== undefined) { top.text += m[4]; continue; }
    const [, close, tag, selfClose] = m as unknown as [string, string, string, string];
    if (close) {
      if (top.tag !== tag) throw new Error(`The element type "${top.tag}" must be terminated by the matching end-tag "</${top.tag}>".`);
      stack.pop();
      continue;
    }
    const node: Node = { tag, children: [], text: '' };
    top.children.push(node);
    if (!selfClose) stack.push(node);
  }
  if (stack.length !== 1) throw new Error('Premature end of file.');
  if (root.children.length !== 1 || root.text.trim() !== '') throw new Error('Content is not allowed in prolog.');
  return root.children[0]!;
}

function only(n: Node, tag: string): Node {
  const c = n.children.filter((x) => x.tag === tag);
  if (c.length !== 1) throw new Error(`Expected one <${tag}> in <${n.tag}>`);
  return c[0]!;
}

function value(v: Node): XValue {
  if (v.children.length === 0) return v.text; // a bare value is a string
  if (v.children.length !== 1 || v.text.trim() !== '') throw new Error('A <value> holds one type element');
  const t = v.children[0]!;
  switch (t.tag) {
    case 'string': return t.text;
    case 'int': case 'i4': case 'i8': {
      if (!/^\s*[+-]?\d+\s*$/.test(t.text)) throw new Error(`Failed to parse integer value: ${t.text}`);
      return { int: Number(t.text) };
    }
    case 'boolean': {
      const b = t.text.trim();
      if (b !== '0' && b !== '1') throw new Error(`Failed to parse boolean value: ${t.text}`);
      return b === '1';
    }
    case 'double': {
      const d = Number(t.text);
      if (t.text.trim() === '' || !Number.isFinite(d)) throw new Error(`Failed to parse double value: ${t.text}`);
      return { double: d };
    }
    case 'nil': return null;
    case 'dateTime.iso8601': case 'base64': return t.text;
    case 'array': return only(t, 'data').children.map((x) => { if (x.tag !== 'value') throw new Error('An <array> holds <value>s'); return value(x); });
    case 'struct': {
      const o: Record<string, XValue> = {};
      for (const m of t.children) {
        if (m.tag !== 'member') throw new Error('A <struct> holds <member>s');
        o[only(m, 'name').text] = value(only(m, 'value'));
      }
      return o;
    }
    default: throw new Error(`Unknown type: ${t.tag}`);
  }
}

function parseMethodCall(xml: string): { method: string; params: XValue[] } {
  const root = parseXml(xml);
  if (root.tag !== 'methodCall') throw new Error(`Expected methodCall, got ${root.tag}`);
  const method = only(root, 'methodName').text.trim();
  const ps = root.children.find((c) => c.tag === 'params');
  const params = ps ? ps.children.map((p) => { if (p.tag !== 'param') throw new Error('<params> holds <param>s'); return value(only(p, 'value')); }) : [];
  return { method, params };
}
