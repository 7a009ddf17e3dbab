// Decoding list pages off the main thread. A page body goes, as bytes, to a decoder thread, which parses it
// and converts its records to COPY text with the table's encoder. What comes back is shaped like the body, so
// the pagers run unchanged: the list holds one small stand-in per record carrying only its id (what paging by
// id ranges reads) and the other top-level values (next_page_token, count) are there as sent. A page's
// stand-ins, or the prefix of them a row budget kept, turn back into that page's COPY text.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { TableSchema } from '../schema/types.js';
import type { DecoderReply, DecoderRequest } from './page-decoder-protocol.js';

const WORKER_URL = new URL('./page-decoder-worker.js', import.meta.url);

/** COPY text of some API records, and how many table rows it holds. */
export interface CopyChunk {
  bytes: Buffer;
  rows: number;
}

/** The page body was not complete JSON (a transient failure: the request is retried). */
export class NotJsonBody extends Error {}

interface DecodedPage {
  copy: Buffer;
  ends: Uint32Array;
  rows: Uint32Array;
  keys: Array<string | number>;
  /** keys of the rows its fetch has handed on */
  seen: Set<string | number>;
}

const PAGE = Symbol('keapgres.decodedPage');
const INDEX = Symbol('keapgres.recordIndex');

interface StandIn {
  [PAGE]: DecodedPage;
  [INDEX]: number;
}

class DecoderThread {
  readonly worker: Worker;
  openFetches = 0;
  private readonly pending = new Map<number, { resolve: (r: DecoderReply) => void; reject: (e: Error) => void }>();
  private nextSeq = 1;
  dead = false;

  constructor(onDeath: (t: DecoderThread) => void) {
    this.worker = new Worker(WORKER_URL);
    this.worker.on('message', (m: DecoderReply) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (this.pending.size === 0) this.worker.unref();
      p.resolve(m);
    });
    const fail = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      onDeath(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(err instanceof Error ? err : new Error(String(err))));
    this.worker.on('exit', (code) => fail(new Error(`page decoder thread exited (${code})`)));
    // Referenced only while it has work (see request). After the listeners: adding one refs it again.
    this.worker.unref();
  }

  post(m: DecoderRequest): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  request(fetch: number, bytes: ArrayBuffer, listKey: string | null, idPath: string | undefined): Promise<DecoderReply> {
    if (this.dead) return Promise.reject(new Error('page decoder thread is gone'));
    const seq = this.nextSeq++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ type: 'page', fetch, seq, bytes, listKey, idPath } satisfies DecoderRequest, [bytes]);
    });
  }
}

let fetchIds = 0;

/** Decoder threads shared by every fetch of the process; started when first needed. */
export class PageDecoderPool {
  private readonly threads: DecoderThread[] = [];

  constructor(private readonly size: number) {}

  /** A decoder for one fetch of `table`. Its pages go to one thread, in order, so the key memory is shared. */
  open(table: TableSchema, listKey: string | null, idPath: string | undefined): FetchDecoder {
    let thread = this.threads.reduce<DecoderThread | undefined>((best, t) => (!best || t.openFetches < best.openFetches ? t : best), undefined);
    if (!thread || (thread.openFetches > 0 && this.threads.length < this.size)) {
      thread = this.newThread();
      this.threads.push(thread);
    }
    return new FetchDecoder(thread, table, listKey, idPath);
  }

  /** Starts a thread ahead of the first page, so the first fetch does not wait for one to boot. */
  warm(): void {
    if (this.threads.length === 0) this.threads.push(this.newThread());
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private newThread(): DecoderThread {
    return new DecoderThread((dead) => this.threads.splice(this.threads.indexOf(dead) >>> 0, 1));
  }
}

export class FetchDecoder {
  private readonly id = ++fetchIds;
  private closed = false;
  private readonly seen = new Set<string | number>();

  constructor(
    private readonly thread: DecoderThread,
    table: TableSchema,
    private readonly listKey: string | null,
    private readonly idPath: string | undefined,
  ) {
    thread.openFetches++;
    thread.post({ type: 'open', fetch: this.id, table });
  }

  /** The body of a list page, with stand-ins for its records. Rejects with NotJsonBody for a broken body. */
  async decode(bytes: ArrayBuffer): Promise<unknown> {
    const reply = await this.thread.request(this.id, bytes, this.listKey, this.idPath);
    if (reply.type === 'failed') {
      if (reply.notJson) throw new NotJsonBody(reply.message);
      throw new Error(`page decoder: ${reply.message}`);
    }
    const page: DecodedPage = {
      copy: Buffer.from(reply.copy.buffer, reply.copy.byteOffset, reply.copy.byteLength),
      ends: reply.ends,
      rows: reply.rows,
      keys: reply.keys,
      seen: this.seen,
    };
    let list: unknown;
    if (reply.list === 'ok') {
      const standIns: StandIn[] = new Array(reply.ids.length);
      for (let i = 0; i < standIns.length; i++) standIns[i] = standIn(page, i, this.idPath, reply.ids[i]);
      list = standIns;
    } else {
      list = reply.list === 'absent' ? undefined : 'not a list';
    }
    return this.listKey === null ? list : { ...reply.scalars, [this.listKey]: list };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.thread.openFetches--;
    this.thread.post({ type: 'close', fetch: this.id });
  }
}

function standIn(page: DecodedPage, index: number, idPath: string | undefined, id: unknown): StandIn {
  const record: Record<string | symbol, unknown> = { [PAGE]: page, [INDEX]: index };
  if (idPath !== undefined && id !== undefined) {
    const keys = idPath.split('.');
    let cur = record;
    for (let k = 0; k < keys.length - 1; k++) cur = (cur[keys[k] as string] = {}) as Record<string, unknown>;
    cur[keys[keys.length - 1] as string] = id;
  }
  return record as unknown as StandIn;
}

/** The COPY text of stand-ins handed on by the pagers: a whole page, or the first n of one. */
export function copyOfStandIns(records: readonly unknown[]): CopyChunk {
  const n = records.length;
  if (n === 0) return { bytes: Buffer.alloc(0), rows: 0 };
  const first = records[0] as Partial<StandIn>;
  const last = records[n - 1] as Partial<StandIn>;
  const page = first[PAGE];
  if (!page || first[INDEX] !== 0 || last[PAGE] !== page || last[INDEX] !== n - 1) {
    throw new Error('decoded records must be handed on as a page or its beginning');
  }
  const rows = page.rows[n - 1] as number;
  // A row whose key an earlier page of the fetch already handed on (the data moved between pages) would
  // fail the whole COPY: it is left out. Checked here, when the page is handed on, not when decoded.
  let repeated: Set<number> | undefined;
  for (let i = 0; i < rows; i++) {
    const key = page.keys[i] as string | number;
    if (page.seen.has(key)) (repeated ??= new Set()).add(i);
    else page.seen.add(key);
  }
  if (!repeated) {
    if (n === page.ends.length) return { bytes: page.copy, rows };
    // A row budget kept only the first n records (rare: MaxRows or a pushed LIMIT reached mid-page).
    return { bytes: Buffer.from(page.copy.toString('utf8').slice(0, page.ends[n - 1]), 'utf8'), rows };
  }
  // Rows are lines: newlines inside values are escaped in COPY text.
  const lines = page.copy.toString('utf8').split('\n').slice(0, rows);
  const kept = lines.filter((_, i) => !repeated.has(i));
  return { bytes: Buffer.from(kept.map((l) => `${l}\n`).join(''), 'utf8'), rows: kept.length };
}

let shared: PageDecoderPool | undefined;

/** The process's decoder threads: one fewer than the cores (the main thread has its own work), 1 to 4. */
export function sharedPageDecoders(): PageDecoderPool {
  shared ??= new PageDecoderPool(Math.max(1, Math.min(4, os.availableParallelism() - 1)));
  return shared;
}
