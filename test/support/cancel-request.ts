// The BackendKeyData node-postgres received, and a CancelRequest sent with it as libpq's PQcancel sends one.
import assert from 'node:assert/strict';
import net from 'node:net';
import type pg from 'pg';

export interface BackendKey { processID: number; secretKey: number }

export function keyOf(c: pg.Client): BackendKey {
  const k = c as unknown as BackendKey;
  assert.ok(Number.isInteger(k.processID) && Number.isInteger(k.secretKey), 'the client got BackendKeyData');
  return { processID: k.processID, secretKey: k.secretKey };
}

/** A CancelRequest on a new connection to `port`; resolves when the server closes it. */
export function sendCancel(port: number, key: BackendKey): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(key.processID, 8);
    packet.writeInt32BE(key.secretKey, 12);
    socket.on('connect', () => socket.write(packet));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}
