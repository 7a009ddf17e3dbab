// Page decoding off the main thread: the COPY text is exactly what the encoder makes on the calling thread,
// the pagers see the body's shape (ids, next_page_token), a budget's prefix cuts the text at a record, keys are
// remembered across a fetch's pages, broken bodies are told apart, and a lost thread fails only its fetches.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { loadCatalog } from '../src/schema/load.js';
import { CopyRowEncoder } from '../src/schema/rows.js';
import type { TableSchema } from '../src/schema/types.js';
import { PageDecoderPool, NotJsonBody, copyOfStandIns } from '../src/keap/page-decoder.js';
import { recordsOf } from '../src/keap/pagers.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

let sb: Sandbox;
let contacts: TableSchema;
let transactions: TableSchema;
let pool: PageDecoderPool;

before(async () => {
  sb = await startSandbox({ port: 0, contacts: 600 });
  const catalog = loadCatalog();
  contacts = catalog.tables.get('contacts')!;
  transactions = catalog.tables.get('transactions')!;
  pool = new PageDecoderPool(2);
});
after(async () => {
  await pool.close();
  await sb.close();
});

async function page(table: TableSchema, query: Record<string, string>): Promise<ArrayBuffer> {
  const q = new URLSearchParams(query);
  if (table.source.fields?.length) q.set(table.source.version === 2 ? 'fields' : 'optional_properties', table.source.fields.join(','));
  const res = await request(`${sb.apiBase}${table.source.path}?${q}`, { headers: { 'X-Keap-API-Key': sb.personalAccessToken } });
  assert.equal(res.statusCode, 200);
  return res.body.arrayBuffer();
}

const copy = (b: ArrayBuffer): ArrayBuffer => b.slice(0);

test('a decoded page is the COPY text the encoder makes here, with the body around stand-ins', async () => {
  const bytes = await page(contacts, { page_size: '250' });
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const records = recordsOf(parsed, contacts.source.listKey, contacts.source.path);
  const expected = new CopyRowEncoder(contacts).encode(records);

  const decoder = pool.open(contacts, contacts.source.listKey, 'id');
  try {
    const body = (await decoder.decode(copy(bytes))) as Record<string, unknown>;
    assert.equal(body.next_page_token, parsed.next_page_token);
    const standIns = recordsOf(body, contacts.source.listKey, contacts.source.path) as Array<{ id: unknown }>;
    assert.deepEqual(standIns.map((r) => r.id), records.map((r) => (r as { id: unknown }).id));
    const whole = copyOfStandIns(standIns);
    assert.equal(whole.bytes.toString('utf8'), expected);
    assert.equal(whole.rows, 250);

    // the same page again in the same fetch: every key was handed on already, so no rows
    const again = (await decoder.decode(copy(bytes))) as Record<string, unknown>;
    const repeat = copyOfStandIns(recordsOf(again, contacts.source.listKey, contacts.source.path));
    assert.deepEqual([repeat.bytes.length, repeat.rows], [0, 0]);
  } finally {
    decoder.close();
  }
});

test('a row budget keeps the first n records; keys count only once a page is handed on', async () => {
  const bytes = await page(contacts, { page_size: '100' });
  const records = recordsOf(JSON.parse(Buffer.from(bytes).toString('utf8')), contacts.source.listKey, contacts.source.path);
  const decoder = pool.open(contacts, contacts.source.listKey, 'id');
  try {
    const standIns = recordsOf(await decoder.decode(copy(bytes)), contacts.source.listKey, contacts.source.path);
    // the first 7: the text ends at the 7th record's line
    const first = copyOfStandIns(standIns.slice(0, 7));
    assert.equal(first.bytes.toString('utf8'), new CopyRowEncoder(contacts).encode(records.slice(0, 7)));
    assert.equal(first.rows, 7);
    assert.throws(() => copyOfStandIns(standIns.slice(3, 9)), /page or its beginning/);
    // decoded but never handed on (an id range the API ignored, a page past the budget): its keys hide nothing
    await decoder.decode(copy(bytes));
    const later = copyOfStandIns(recordsOf(await decoder.decode(copy(bytes)), contacts.source.listKey, contacts.source.path));
    assert.equal(later.rows, 93, 'all but the 7 handed on before');
    assert.equal(later.bytes.toString('utf8'), new CopyRowEncoder(contacts).encode(records.slice(7)));
  } finally {
    decoder.close();
  }
});

test('v1 pages keep their count; non-ASCII text survives a cut at a record', async () => {
  const bytes = await page(transactions, { limit: '40', offset: '0' });
  const parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const records = recordsOf(parsed, transactions.source.listKey, transactions.source.path);
  const decoder = pool.open(transactions, transactions.source.listKey, 'id');
  try {
    const body = (await decoder.decode(copy(bytes))) as Record<string, unknown>;
    assert.equal(body.count, parsed.count);
    const standIns = recordsOf(body, transactions.source.listKey, transactions.source.path);
    assert.equal(copyOfStandIns(standIns).bytes.toString('utf8'), new CopyRowEncoder(transactions).encode(records));
  } finally {
    decoder.close();
  }
  const unicode = { [contacts.source.listKey!]: [{ id: '1', given_name: 'Zoë 😀 ünïcödé' }, { id: '2', given_name: 'Ærøskøbing' }, { id: '3', given_name: 'x' }] };
  const d = pool.open(contacts, contacts.source.listKey, 'id');
  try {
    const body = await d.decode(new TextEncoder().encode(JSON.stringify(unicode)).buffer as ArrayBuffer);
    const standIns = recordsOf(body, contacts.source.listKey, contacts.source.path);
    const two = copyOfStandIns(standIns.slice(0, 2)).bytes.toString('utf8');
    assert.equal(two, new CopyRowEncoder(contacts).encode(unicode[contacts.source.listKey!]!.slice(0, 2)));
    assert.match(two, /Zoë 😀 ünïcödé/);
  } finally {
    d.close();
  }
});

test('a broken body is NotJsonBody (retried); a body without a list is told apart from a wrong one', async () => {
  const d = pool.open(contacts, contacts.source.listKey, 'id');
  try {
    const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
    await assert.rejects(d.decode(enc('{"contacts":[{"id":"1"')), NotJsonBody);
    const absent = await d.decode(enc('{"next_page_token":""}'));
    assert.deepEqual(recordsOf(absent, contacts.source.listKey, contacts.source.path), []);
    const wrong = await d.decode(enc('{"contacts":{"id":"1"}}'));
    assert.throws(() => recordsOf(wrong, contacts.source.listKey, contacts.source.path), (err: Error & { detail?: string }) => /did not return a list/.test(err.detail ?? ''));
  } finally {
    d.close();
  }
});

test('a thread that is gone fails its pending pages; the next fetch gets a new thread', async () => {
  const own = new PageDecoderPool(1);
  const bytes = await page(contacts, { page_size: '50' });
  const d = own.open(contacts, contacts.source.listKey, 'id');
  const pending = Promise.allSettled([d.decode(copy(bytes))]);
  await own.close();
  await pending; // answered just before the end, or failed by it: never left hanging
  await assert.rejects(d.decode(copy(bytes)), /gone/);
  const d2 = own.open(contacts, contacts.source.listKey, 'id');
  try {
    const body = await d2.decode(copy(bytes));
    assert.equal(copyOfStandIns(recordsOf(body, contacts.source.listKey, contacts.source.path)).rows, 50);
  } finally {
    d2.close();
    await own.close();
  }
});

test('decoder threads never keep a process alive that has nothing else to do', async () => {
  // A connector warms the shared threads at once; a CLI run or a test file must still end by itself.
  const script = `
    const { sharedPageDecoders, PageDecoderPool } = await import(${JSON.stringify(new URL('../src/keap/page-decoder.js', import.meta.url).href)});
    sharedPageDecoders().warm(); // started, never used
    const pool = new PageDecoderPool(1);
    const d = pool.open({ name: 't', columns: [{ name: 'id', type: 'bigint', path: 'id', description: '' }], primaryKey: ['id'], source: {} }, 'items', 'id');
    const body = await d.decode(new TextEncoder().encode('{"items":[{"id":1}]}').buffer);
    d.close();
    console.log(body.items.length);
  `;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keapgres-decoder-'));
  const file = path.join(dir, 'exit.mjs');
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill(), 20_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, 'the process ended by itself');
  assert.equal(out.trim(), '1');
});
