// The pid layout of instances sharing a CacheConnection, and the CancelRequest sent on to another one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InstancePids, PID_COUNTER_BITS, cancelPacket, instanceOfPid } from '../src/wire/cancel-forwarder.js';
import { readStartupPacket } from '../src/wire/startup.js';

const directory = (id: number) => ({ id, address: { host: '127.0.0.1', port: 5433 }, addressOf: async () => undefined });

test('pids carry the instance id and stay positive int32s up to id 2047; the counter skips pids in use and wraps', () => {
  const top = new InstancePids(directory(2047));
  for (let i = 0; i < 1000; i++) {
    const pid = top.next(() => false);
    assert.ok(pid > 0 && pid <= 0x7fffffff, `pid ${pid}`);
    assert.equal(instanceOfPid(pid), 2047);
    assert.notEqual(pid & ((1 << PID_COUNTER_BITS) - 1), 0);
  }
  const pids = new InstancePids(directory(3));
  const used = new Set<number>();
  // more than the counter's range: it wraps, never hands out a pid in use, never counter 0
  for (let i = 0; i < (1 << PID_COUNTER_BITS) - 2; i++) used.add(pids.next((p) => used.has(p)));
  assert.equal(used.size, (1 << PID_COUNTER_BITS) - 2);
  const last = pids.next((p) => used.has(p));
  assert.ok(!used.has(last) && instanceOfPid(last) === 3);
  assert.equal(instanceOfPid(1500), 0, 'a pid of an instance without CacheConnection names no instance');
  assert.equal(instanceOfPid(-5), 0);
});

test('the forwarded CancelRequest is the same 16 bytes the client sent', () => {
  const packet = cancelPacket((5 << PID_COUNTER_BITS) | 77, -123456789);
  assert.equal(packet.length, 16);
  assert.deepEqual(readStartupPacket(packet), { packet: { kind: 'cancel', processId: (5 << PID_COUNTER_BITS) | 77, secretKey: -123456789 }, used: 16 });
});
