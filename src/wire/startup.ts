// The first packet of a connection: SSLRequest, GSSENCRequest, CancelRequest or StartupMessage.
import { SqlError, SQLSTATE } from '../errors.js';

export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3_0 = 196608;

/** A startup packet may not be larger than this (PostgreSQL's MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_PACKET = 10000;

export type StartupPacket =
  | { kind: 'terminate' }
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  | { kind: 'startup'; params: Record<string, string> };

/**
 * A Terminate message ('X', length 4) where a startup packet belongs. node-postgres's end() called
 * right after connect() queues it on the still-connecting socket, ahead of its StartupMessage, then
 * closes: the client is saying goodbye, not speaking garbage. Its first byte makes it a length of
 * 1.4 GB, so it can be nothing else.
 */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

/**
 * Bytes that cannot be the start of the PostgreSQL protocol. PostgreSQL reports these only to its log
 * (COMMERROR) and closes without a reply: whatever is on the other end does not speak the protocol.
 */
export class NotAStartupPacket extends Error {}

/**
 * Reads one startup packet from the front of `data`. Returns undefined while incomplete,
 * else the packet and the number of bytes it used. Throws NotAStartupPacket for an impossible length,
 * SqlError (08P01, 0A000) for a packet PostgreSQL answers with an error.
 */
export function readStartupPacket(data: Buffer): { packet: StartupPacket; used: number } | undefined {
  if (data.length > 0 && data[0] === TERMINATE[0]) {
    const n = Math.min(data.length, TERMINATE.length);
    if (data.subarray(0, n).equals(TERMINATE.subarray(0, n))) {
      return n === TERMINATE.length ? { packet: { kind: 'terminate' }, used: n } : undefined;
    }
  }
  if (data.length < 4) return undefined;
  const length = data.readUInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET) throw new NotAStartupPacket('invalid length of startup packet');
  if (data.length < length) return undefined;
  const code = data.readUInt32BE(4);
  const body = data.subarray(8, length);
  if (code === SSL_REQUEST_CODE) return { packet: { kind: 'ssl' }, used: length };
  if (code === GSSENC_REQUEST_CODE) return { packet: { kind: 'gssenc' }, used: length };
  if (code === CANCEL_REQUEST_CODE) {
    if (length !== 16) throw new NotAStartupPacket('invalid length of cancel request');
    return { packet: { kind: 'cancel', processId: body.readInt32BE(0), secretKey: body.readInt32BE(4) }, used: length };
  }
  if (code >> 16 !== 3) {
    throw new SqlError(SQLSTATE.featureNotSupported, `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: server supports 3.0 to 3.0`);
  }
  return { packet: { kind: 'startup', params: parseParams(body) }, used: length };
}

function parseParams(body: Buffer): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  let pos = 0;
  for (;;) {
    const end = body.indexOf(0, pos);
    if (end < 0) throw new SqlError(SQLSTATE.protocolViolation, 'invalid startup packet layout: expected terminator as last byte');
    if (end === pos) {
      if (end !== body.length - 1) throw new SqlError(SQLSTATE.protocolViolation, 'invalid startup packet layout: expected terminator as last byte');
      return params;
    }
    const name = body.toString('utf8', pos, end);
    const vEnd = body.indexOf(0, end + 1);
    if (vEnd < 0) throw new SqlError(SQLSTATE.protocolViolation, `invalid startup packet layout: missing value for "${name}"`);
    params[name] = body.toString('utf8', end + 1, vEnd);
    pos = vEnd + 1;
  }
}

/** libpq `options`: "-c name=value --name=value", backslash escapes spaces. */
export function parseOptions(options: string): Array<[string, string]> {
  const words: string[] = [];
  let cur = '';
  let escaped = false;
  for (const ch of options) {
    if (escaped) { cur += ch; escaped = false; continue; }
    if (ch === '\\') { escaped = true; continue; }
    if (ch === ' ' || ch === '\t') { if (cur) words.push(cur); cur = ''; continue; }
    cur += ch;
  }
  if (cur) words.push(cur);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (w === '-c' && i + 1 < words.length) w = words[++i];
    else if (w.startsWith('-c')) w = w.slice(2);
    else if (w.startsWith('--')) w = w.slice(2);
    else throw new SqlError(SQLSTATE.protocolViolation, `invalid command-line argument for server process: ${w}`, { hint: 'Try "-c name=value".' });
    const eq = w.indexOf('=');
    if (eq <= 0) throw new SqlError(SQLSTATE.protocolViolation, `invalid command-line argument for server process: ${w}`);
    out.push([w.slice(0, eq).replace(/-/g, '_'), w.slice(eq + 1)]);
  }
  return out;
}
