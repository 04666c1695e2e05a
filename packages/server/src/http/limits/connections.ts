import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { normalizeIP } from '@fastify/rate-limit';
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import type { TrustProxyFn } from './forwarded-for.js';

export interface ConnectionLimits {
  /** Open connections in this process; past it a new one is closed at once. */
  maxConnections: number;
  /** Open connections from one client address (IPv6 by /64); trusted proxies are not counted. */
  maxConnectionsPerClient: number;
  /** A connection that has sent no byte for this long is closed, unanswered. */
  firstByteTimeoutMs: number;
  /** A request's headers, counted from its first byte (or the connection's start), must arrive within this (408 otherwise). */
  headersTimeoutMs: number;
  /** A whole request, headers and body, must arrive within this (408 otherwise). */
  requestTimeoutMs: number;
}

/** A connection that sends nothing is closed after this; a browser opens a new one when it has a request. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** Slow-loris bounds: a request's headers, then all of it, must arrive within these (408 otherwise). */
const HEADERS_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 30_000;

/** The connection limits a process runs with: MAX_CONNECTIONS (or its default from the open-file limit), the per-client cap, the timeouts. */
export function connectionLimits(config: { maxConnections: number | null; maxConnectionsPerClient: number }): ConnectionLimits {
  return {
    maxConnections: config.maxConnections ?? defaultMaxConnections(openFileLimits()?.soft ?? null),
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    firstByteTimeoutMs: FIRST_BYTE_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
  };
}

/** Node checks the headers and request timeouts of open connections this often. */
const TIMEOUT_CHECK_MS = 1_000;
/** Accept errors logged at most this often: under EMFILE they come in floods. */
const ACCEPT_ERROR_LOG_MS = 10_000;

/** The soft and hard open-file limits of this process, from /proc/self/limits; null where it cannot be read. */
export function openFileLimits(): { soft: number; hard: number } | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = (line ?? '').split(/\s{2,}/).slice(1, 3);
    const read = (value: string | undefined) => (value === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(value));
    return Number.isFinite(read(soft)) && Number.isFinite(read(hard)) ? { soft: read(soft), hard: read(hard) } : null;
  } catch {
    return null;
  }
}

/**
 * MAX_CONNECTIONS when unset: the open-file limit less what files, the database pool and the
 * process itself need (a quarter of the limit, at most 256), so sockets alone never use up the
 * descriptors. Node raises the soft limit to the hard one as it starts; `ulimit -n` sets both.
 */
export function defaultMaxConnections(openFiles: number | null): number {
  if (openFiles === null) return 10_000;
  return Math.max(16, openFiles - Math.min(256, Math.floor(openFiles / 4)));
}

/**
 * Bounds what connections can hold, whatever they send: a total cap (Node's `maxConnections`: past
 * it a new connection is closed at once), a cap per client address, and short timeouts for
 * connections without a complete request (no byte at all; headers; the whole request). When
 * descriptors run out anyway (EMFILE/ENFILE on accept), libuv closes the waiting connections it
 * cannot take and the error is logged here instead of ending the process: connections already
 * open are served, and new ones are taken again as soon as descriptors come back.
 */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  options: { trustedPeer: TrustProxyFn | null; metrics: Pick<Metrics, 'connectionsRefused'>; logger: Pick<Logger, 'warn'> },
): void {
  const { metrics, logger, trustedPeer } = options;
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = TIMEOUT_CHECK_MS;
  server.on('drop', () => metrics.connectionsRefused.inc({ reason: 'total' }));

  const perClient = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return void socket.destroy();
    const firstByte = setTimeout(() => {
      if (socket.bytesRead === 0) {
        metrics.connectionsRefused.inc({ reason: 'idle' });
        socket.destroy();
      }
    }, limits.firstByteTimeoutMs);
    firstByte.unref();
    socket.once('close', () => clearTimeout(firstByte));
    // A trusted proxy carries many clients on its connections: it is bounded by the total only.
    if (trustedPeer?.(address, 0)) return;
    const client = normalizeIP(address);
    const open = (perClient.get(client) ?? 0) + 1;
    if (open > limits.maxConnectionsPerClient) {
      metrics.connectionsRefused.inc({ reason: 'per_client' });
      return void socket.destroy();
    }
    perClient.set(client, open);
    socket.once('close', () => {
      const left = (perClient.get(client) ?? 1) - 1;
      if (left === 0) perClient.delete(client);
      else perClient.set(client, left);
    });
  });

  let lastLogged = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  server.on('error', (error: NodeJS.ErrnoException) => {
    // Errors before listening (EADDRINUSE) are Fastify's listen() to report.
    if (error.syscall !== 'accept') return;
    metrics.connectionsRefused.inc({ reason: 'accept_failed' });
    unlogged += 1;
    const now = performance.now();
    if (now - lastLogged < ACCEPT_ERROR_LOG_MS) return;
    logger.warn(
      { err: error, refused: unlogged },
      'could not accept connections (out of file descriptors?): refusing new ones, serving the open ones',
    );
    lastLogged = now;
    unlogged = 0;
  });
}
