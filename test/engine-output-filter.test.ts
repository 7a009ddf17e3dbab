// The engine's output is cut into chunks anywhere; the filter must pass every byte on in order, drop
// only what it is told to, and read ReadyForQuery and DataRows correctly across any split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendOutputFilter } from '../src/engine/output-filter.js';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const copyIn = message('G', Buffer.from([0, 0, 1, 0, 0]));
const rest = [
  message('D', Buffer.from('row one')),
  message('D', Buffer.alloc(3000, 7)),
  message('C', Buffer.from('COPY 2\0')),
  message('Z', Buffer.from('T')),
];
const stream = Buffer.concat([copyIn, ...rest]);
const expected = Buffer.concat(rest);

function run(chunks: Buffer[], dropCopyIn: boolean) {
  const f = new BackendOutputFilter();
  f.dropCopyIn = dropCopyIn;
  const out: Uint8Array[] = [];
  let partialSeen = false;
  for (const c of chunks) {
    out.push(...f.push(c).map((p) => Buffer.from(p)));
    if (f.partialBytes > 0) partialSeen = true;
  }
  return { out: Buffer.concat(out), f, partialSeen };
}

test('every split of the stream into two chunks passes the same bytes and reads the same status', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const { out, f } = run([stream.subarray(0, cut), stream.subarray(cut)], true);
    assert.ok(out.equals(expected), `cut at ${cut}`);
    assert.equal(f.txStatus, 'T');
    assert.equal(f.rows, 2);
    assert.equal(f.partialBytes, 0, 'nothing is left half-sent at the end');
  }
});

test('byte-by-byte chunks, and CopyInResponse kept when not asked to drop it', () => {
  const bytes = [...stream].map((b) => Buffer.from([b]));
  const dropped = run(bytes, true);
  assert.ok(dropped.out.equals(expected));
  assert.ok(dropped.partialSeen, 'a message cut in the middle is reported as partial while it lasts');
  const kept = run(bytes, false);
  assert.ok(kept.out.equals(stream));
});

test('an ErrorResponse is noticed, and only the first CopyInResponse of a batch is dropped', () => {
  const err = message('E', Buffer.from('SERROR\0C22012\0Mdivision by zero\0\0'));
  const twice = Buffer.concat([copyIn, copyIn, err, message('Z', Buffer.from('E'))]);
  const { out, f } = run([twice], true);
  assert.ok(out.equals(twice.subarray(copyIn.length)));
  assert.equal(f.sawError, true);
  assert.equal(f.txStatus, 'E');
});
