// A backend's identity from its client connection: addresses as pg_stat_activity and inet_client_addr()
// show them (an IPv4 client of a dual-stack socket as IPv4), and the TLS the connection uses.
import type net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Backend, type BackendIdentity } from './backend.js';
import type { BackendRegistry } from './registry.js';

export function backendOfConnection(
  registry: BackendRegistry,
  socket: net.Socket,
  id: Pick<BackendIdentity, 'pid' | 'database' | 'user' | 'applicationName'>,
  logger: Logger,
): Backend {
  return new Backend(registry, {
    ...id,
    clientAddr: plainAddress(socket.remoteAddress),
    clientPort: socket.remotePort,
    serverAddr: plainAddress(socket.localAddress),
    serverPort: socket.localPort,
    tls: socket instanceof tls.TLSSocket ? tlsOf(socket) : undefined,
  }, socket, logger);
}

function plainAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function tlsOf(socket: tls.TLSSocket): BackendIdentity['tls'] {
  const cipher = socket.getCipher();
  // OpenSSL's names carry the key size (TLS_AES_256_GCM_SHA384, ECDHE-RSA-AES128-GCM-SHA256); ChaCha20 is 256-bit
  const bits = /AES_?(\d+)/i.exec(cipher?.name ?? '')?.[1] ?? (/CHACHA20/i.test(cipher?.name ?? '') ? '256' : undefined);
  return { version: socket.getProtocol() ?? undefined, cipher: cipher?.name, bits: bits ? Number(bits) : undefined };
}
