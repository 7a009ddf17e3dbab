// A page decoder thread: parses Keap list pages and turns their records into COPY text, so the main thread,
// which serves every session's protocol, never spends a page's parse and conversion (tens of milliseconds
// for a thousand contacts) nor collects its garbage.
import { parentPort } from 'node:worker_threads';
import { CopyRowEncoder } from '../schema/rows.js';
import type { DecoderReply, DecoderRequest } from './page-decoder-protocol.js';
import { readPath } from './read-path.js';

const encoders = new Map<number, CopyRowEncoder>();
const decoder = new TextDecoder();

parentPort!.on('message', (m: DecoderRequest) => {
  switch (m.type) {
    case 'open':
      encoders.set(m.fetch, new CopyRowEncoder(m.table));
      return;
    case 'close':
      encoders.delete(m.fetch);
      return;
    case 'page': {
      const encoder = encoders.get(m.fetch);
      let reply: DecoderReply;
      try {
        if (!encoder) throw new Error(`page for a closed fetch ${m.fetch}`);
        reply = decodePage(m.seq, encoder, m.bytes, m.listKey, m.idPath);
      } catch (err) {
        reply = { type: 'failed', seq: m.seq, notJson: err instanceof SyntaxError, message: (err as Error).message };
      }
      parentPort!.postMessage(reply, reply.type === 'page' ? [reply.copy.buffer as ArrayBuffer] : []);
    }
  }
});

function decodePage(seq: number, encoder: CopyRowEncoder, bytes: ArrayBuffer, listKey: string | null, idPath: string | undefined): DecoderReply {
  const body: unknown = JSON.parse(decoder.decode(bytes));
  const list = listKey === null ? body : (body as Record<string, unknown> | null)?.[listKey];
  // The body's other top-level values (next_page_token, count): the pagers read them.
  const scalars: Record<string, string | number | boolean | null> = {};
  if (listKey !== null && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    for (const [k, v] of Object.entries(body)) {
      if (k !== listKey && (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) scalars[k] = v;
    }
  }
  if (!Array.isArray(list)) {
    return { type: 'page', seq, scalars, list: list === undefined || list === null ? 'absent' : 'invalid', ids: [], copy: new Uint8Array(0), ends: new Uint32Array(0), rows: new Uint32Array(0), keys: [] };
  }
  const n = list.length;
  const ids: unknown[] = new Array(n);
  const ends = new Uint32Array(n);
  const rows = new Uint32Array(n);
  let text = '';
  // Keys are checked across pages by the main thread, when a page is handed on: a page decoded here may
  // yet be dropped (a row budget, an id range the API ignored), and its keys must not hide later rows.
  encoder.forgetKeys();
  const keys: Array<string | number> = [];
  encoder.rowKeys = keys;
  const before = encoder.rowCount;
  for (let i = 0; i < n; i++) {
    const record = list[i];
    ids[i] = idPath === undefined ? undefined : readPath(record, idPath);
    text += encoder.encodeRecord(record);
    ends[i] = text.length;
    rows[i] = encoder.rowCount - before;
  }
  // Its own buffer (not Node's shared pool), so it can be transferred rather than copied.
  const copy = new Uint8Array(Buffer.byteLength(text, 'utf8'));
  Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).write(text, 'utf8');
  return { type: 'page', seq, scalars, list: 'ok', ids, copy, ends, rows, keys };
}
