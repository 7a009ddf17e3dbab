// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it: verifiers in PostgreSQL's
// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` format and the server side of the
// exchange, without channel binding. Pure functions over node:crypto; the wire layer frames
// the SASL messages.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SqlError, SQLSTATE } from '../errors.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
const KEY_LENGTH = 32;
const NONCE_BYTES = 18;
const DEFAULT_ITERATIONS = 4096;

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** RFC 4013 SASLprep, the parts that change bytes (as libpq and node-postgres apply it). */
export function saslprep(password: string): string {
  return password
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
    .normalize('NFKC');
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function createScramVerifier(password: string, iterations = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(16)): string {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('SCRAM iteration count must be a positive integer');
  const salted = pbkdf2Sync(saslprep(password), salt, iterations, KEY_LENGTH, 'sha256');
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `${SCRAM_MECHANISM}$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const VERIFIER_FORMAT = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

export function isScramVerifier(text: string): boolean {
  return parseScramVerifier(text) !== undefined;
}

export function parseScramVerifier(text: string): ScramVerifier | undefined {
  const m = VERIFIER_FORMAT.exec(text.trim());
  if (!m) return undefined;
  const iterations = Number(m[1]);
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (!Number.isSafeInteger(iterations) || iterations < 1 || storedKey.length !== KEY_LENGTH || serverKey.length !== KEY_LENGTH) return undefined;
  return { iterations, salt: Buffer.from(m[2]!, 'base64'), storedKey, serverKey };
}

// For unknown users the exchange runs on a made-up verifier whose salt is stable per user name
// (derived from a per-process key), so two attempts for one name look like a real account's.
const mockKey = randomBytes(32);

function mockVerifier(userName: string): ScramVerifier {
  return {
    iterations: DEFAULT_ITERATIONS,
    salt: hmac(mockKey, `salt:${userName}`).subarray(0, 16),
    storedKey: randomBytes(KEY_LENGTH),
    serverKey: randomBytes(KEY_LENGTH),
  };
}

function malformed(what: string): SqlError {
  return new SqlError(SQLSTATE.protocolViolation, `malformed SCRAM message`, { detail: what, severity: 'FATAL' });
}

function parseAttributes(text: string, what: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of text.split(',')) {
    if (!/^[A-Za-z]=/.test(part)) throw malformed(`${what}: attribute "${part.slice(0, 20)}" is not of the form x=value`);
    attrs.set(part[0]!, part.slice(2));
  }
  return attrs;
}

export interface ScramFinalResult {
  ok: boolean;
  /** the server-final message to send in AuthenticationSASLFinal when ok */
  serverFinal?: string;
}

export class ScramServer {
  private readonly verifier: ScramVerifier;
  private readonly real: boolean;
  private state: 'initial' | 'first-sent' | 'done' = 'initial';
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  /** fixed server nonce, only for checking against the RFC 7677 test vector */
  private readonly serverNonce: string | undefined;

  /**
   * @param verifier the user's stored verifier; null for an unknown user (or one without a
   * password): the exchange then runs to the end on a mock verifier and fails, so neither timing
   * nor message shape tells a client whether the user exists.
   * @param userName used only to keep the mock salt stable per unknown user
   */
  constructor(verifier: string | null, userName = '', options: { serverNonce?: string } = {}) {
    this.serverNonce = options.serverNonce;
    const parsed = verifier === null ? undefined : parseScramVerifier(verifier);
    this.real = parsed !== undefined;
    this.verifier = parsed ?? mockVerifier(userName);
  }

  /** client-first-message (the SASLInitialResponse data) → server-first-message */
  handleClientFirst(msg: string): string {
    if (this.state !== 'initial') throw malformed('client-first-message received twice');
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (!m) throw malformed('client-first-message must start with a GS2 header such as "n,,"');
    if (m[1]!.startsWith('p=')) {
      throw new SqlError(SQLSTATE.protocolViolation, 'channel binding is not supported', {
        detail: `The client asked for ${SCRAM_MECHANISM}-PLUS channel binding; keapgres offers ${SCRAM_MECHANISM} only.`,
        hint: 'Connect with channel_binding=disable or prefer.',
        severity: 'FATAL',
      });
    }
    if (m[2]) throw malformed('authorization identities (a=) are not supported');
    this.gs2Header = `${m[1]},,`;
    this.clientFirstBare = m[3]!;
    const attrs = parseAttributes(this.clientFirstBare, 'client-first-message');
    if (attrs.has('m')) throw malformed('mandatory extensions (m=) are not supported');
    const clientNonce = attrs.get('r');
    if (!clientNonce || !/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw malformed('client-first-message has no valid nonce (r=)');
    if (!attrs.has('n')) throw malformed('client-first-message has no user name attribute (n=)');
    this.nonce = clientNonce + (this.serverNonce ?? randomBytes(NONCE_BYTES).toString('base64'));
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    this.state = 'first-sent';
    return this.serverFirst;
  }

  /** client-final-message (the SASLResponse data) → whether the proof holds, and the server-final */
  handleClientFinal(msg: string): ScramFinalResult {
    if (this.state !== 'first-sent') throw malformed('client-final-message out of order');
    this.state = 'done';
    const proofAt = msg.lastIndexOf(',p=');
    if (proofAt < 0) throw malformed('client-final-message has no proof (p=)');
    const withoutProof = msg.slice(0, proofAt);
    const attrs = parseAttributes(withoutProof, 'client-final-message');
    const proof = Buffer.from(msg.slice(proofAt + 3), 'base64');
    const binding = attrs.get('c');
    if (binding === undefined || Buffer.from(binding, 'base64').toString('latin1') !== this.gs2Header) {
      throw malformed('channel binding data (c=) does not match the GS2 header of the client-first-message');
    }
    if (attrs.get('r') !== this.nonce) throw malformed('nonce (r=) does not match the one the server sent');
    if (proof.length !== KEY_LENGTH) return { ok: false };

    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(KEY_LENGTH);
    for (let i = 0; i < KEY_LENGTH; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const matches = timingSafeEqual(sha256(clientKey), this.verifier.storedKey);
    if (!matches || !this.real) return { ok: false };
    return { ok: true, serverFinal: `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}` };
  }
}

/** Whether a cleartext password matches a stored SCRAM-SHA-256 verifier (its StoredKey), in constant time. */
export function passwordMatchesVerifier(password: string, verifier: string): boolean {
  const v = parseScramVerifier(verifier);
  if (!v) return false;
  const salted = pbkdf2Sync(saslprep(password), v.salt, v.iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  return storedKey.length === v.storedKey.length && timingSafeEqual(storedKey, v.storedKey);
}
