// Keap's legacy XML-RPC API (POST /crm/xmlrpc/v1, reference §10), for what its REST APIs cannot do: opting an email
// address out (APIEmailService.optOut). Authenticated by the connection's header like every REST call; the leading
// key argument the methods still take is a placeholder, as Keap's own SDK sends it, so no secret is in a body.
import { SqlError } from '../errors.js';
import type { KeapConnector } from '../keap/connector.js';

/** The placeholder Keap's PHP SDK sends for the key argument (the reference's notes on legacy keys): auth is by header. */
const KEY_PLACEHOLDER = 'backwards-compatability';

export type XmlRpcValue = string | number | boolean | null | XmlRpcValue[] | { [k: string]: XmlRpcValue };

/** Calls `method` with string arguments after the key; Keap's answer, or a fault as an SqlError. */
export async function xmlRpcCall(connector: KeapConnector, method: string, args: readonly string[], signal: AbortSignal): Promise<XmlRpcValue> {
  const params = [KEY_PLACEHOLDER, ...args].map((a) => `<param><value><string>${escapeXml(a)}</string></value></param>`).join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>${escapeXml(method)}</methodName><params>${params}</params></methodCall>`;
  // sending an opt-out twice does no harm: retried after a timeout like PATCH
  const res = await connector.send('POST', '../xmlrpc/v1', [], body, signal, true, 'text/xml');
  if (res.status < 200 || res.status >= 300) {
    const message = (res.body as { message?: string } | undefined)?.message ?? res.bodyText.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new SqlError(res.status === 401 ? '28000' : res.status === 403 ? '42501' : '58000', `Keap's XML-RPC ${method} failed: ${message || `HTTP ${res.status}`}`, { detail: `HTTP ${res.status}` });
  }
  let answer: { fault?: { faultCode?: XmlRpcValue; faultString?: XmlRpcValue }; value?: XmlRpcValue };
  try {
    answer = parseMethodResponse(res.bodyText);
  } catch (err) {
    throw new SqlError('58000', `Keap's XML-RPC ${method} answered something that is not XML-RPC`, { detail: (err as Error).message });
  }
  if (answer.fault) {
    const text = String(answer.fault.faultString ?? '');
    // Keap's faults name their kind in brackets: [InvalidParameter], [RecordNotFound], [NoFieldFound], …
    const kind = /^\[(\w+)\]/.exec(text)?.[1];
    const sqlstate = kind === 'InvalidParameter' ? '22023' : kind === 'RecordNotFound' ? '02000' : kind === 'InvalidKey' ? '28000' : '58000';
    throw new SqlError(sqlstate, `Keap's XML-RPC ${method} failed: ${text.replace(/^\[\w+\]/, '')}`, { detail: `fault ${String(answer.fault.faultCode ?? '')}: ${text}` });
  }
  return answer.value ?? null;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// ---- reading a methodResponse ---------------------------------------------------------------------------------

interface Node { tag: string; children: Node[]; text: string }

function parseXml(xml: string): Node {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error('a DOCTYPE is not accepted');
  const body = xml.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const root: Node = { tag: '#root', children: [], text: '' };
  const stack: Node[] = [root];
  const re = /<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    const top = stack[stack.length - 1]!;
    if (m[5] !== undefined) { top.text += decodeEntities(m[5]); continue; }
    if (m[4] !== undefined) { top.text += m[4]; continue; }
    if (m[1]) {
      if (top.tag !== m[2]) throw new Error(`</${m[2]}> closes <${top.tag}>`);
      stack.pop();
      continue;
    }
    const node: Node = { tag: m[2]!, children: [], text: '' };
    top.children.push(node);
    if (!m[3]) stack.push(node);
  }
  if (stack.length !== 1 || root.children.length !== 1) throw new Error('the document is not one element');
  return root.children[0]!;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (m, e: string) => {
    if (e === 'lt') return '<'; if (e === 'gt') return '>'; if (e === 'amp') return '&'; if (e === 'quot') return '"'; if (e === 'apos') return "'";
    const n = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(n) && n <= 0x10ffff ? String.fromCodePoint(n) : m;
  });
}

function child(n: Node, tag: string): Node {
  const c = n.children.find((x) => x.tag === tag);
  if (!c) throw new Error(`<${n.tag}> has no <${tag}>`);
  return c;
}

function valueOf(v: Node): XmlRpcValue {
  const t = v.children[0];
  if (!t) return v.text;
  switch (t.tag) {
    case 'string': case 'dateTime.iso8601': case 'base64': return t.text;
    case 'int': case 'i4': case 'i8': case 'double': return Number(t.text);
    case 'boolean': return t.text.trim() === '1';
    case 'nil': return null;
    case 'array': return child(t, 'data').children.map(valueOf);
    case 'struct': return Object.fromEntries(t.children.map((m) => [child(m, 'name').text, valueOf(child(m, 'value'))]));
    default: throw new Error(`unknown type <${t.tag}>`);
  }
}

function parseMethodResponse(xml: string): { fault?: { faultCode?: XmlRpcValue; faultString?: XmlRpcValue }; value?: XmlRpcValue } {
  const root = parseXml(xml);
  if (root.tag !== 'methodResponse') throw new Error(`<${root.tag}> is not a methodResponse`);
  const fault = root.children.find((c) => c.tag === 'fault');
  if (fault) return { fault: valueOf(child(fault, 'value')) as { faultCode?: XmlRpcValue; faultString?: XmlRpcValue } };
  return { value: valueOf(child(child(child(root, 'params'), 'param'), 'value')) };
}
