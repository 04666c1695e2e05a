/**
 * A fault-injecting TCP proxy on 127.0.0.1, placed between a client (a browser, a test) and the
 * server to make the network delay, stall, cut and reset connections at configurable rates.
 *
 * Each connection's fate (reset, cut, stall or none) is drawn when it is accepted; a fault then
 * strikes after a random number of bytes have passed (counted both ways) or after a random time,
 * whichever comes first. With a seed, the n-th connection always draws the same fate, strike point
 * and delays, so a failing run can be replayed.
 */

import net from 'node:net';
import { seededRandom } from './seeded-random.js';

export interface FaultSettings {
  /** Share of new connections (0..1) that are reset (TCP RST) at a random point. */
  resetRate?: number;
  /** Share of new connections (0..1) that are closed gracefully (FIN both ways) at a random point. */
  cutRate?: number;
  /** Share of new connections (0..1) that stop forwarding at a random point and stay open. */
  stallRate?: number;
  /** Each chunk is held for a random time in [min, max] ms; chunks keep their order. */
  delayMs?: readonly [number, number];
  /** New connections are reset as soon as they are accepted; open ones are left alone (see `cutAll`). */
  offline?: boolean;
  /** A fault strikes after a random number of bytes in [0, faultWindowBytes); `Infinity` disables this trigger. */
  faultWindowBytes?: number;
  /** ...or after a random time in [0, faultWindowMs) ms, whichever comes first; `Infinity` disables it. */
  faultWindowMs?: number;
}

export interface FaultProxyStats {
  /** Connections accepted and relayed (not counting refused ones). */
  connections: number;
  /** Connections currently open. */
  active: number;
  /** Connections reset on arrival because the proxy was offline. */
  refused: number;
  /** Connections whose upstream could not be reached or failed. */
  upstreamErrors: number;
  resets: number;
  cuts: number;
  stalls: number;
  /** Bytes relayed client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxyOptions {
  target: { host: string; port: number };
  faults?: FaultSettings;
  /** Makes fates, strike points and delays reproducible; a random seed is chosen and exposed otherwise. */
  seed?: number;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
}

export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The seed in use, to replay a run. */
  readonly seed: number;
  /** Merges `faults` into the current settings; rates apply to new connections, delays to new chunks. */
  setFaults(faults: FaultSettings): void;
  /** Resets every open connection now, as a network that drops away would. */
  cutAll(): void;
  /** A snapshot of the counters. */
  readonly stats: FaultProxyStats;
  /** Stops listening, resets every open connection and clears every timer. */
  close(): Promise<void>;
}

type Fate = 'reset' | 'cut' | 'stall' | 'none';

const DEFAULT_FAULTS: Required<FaultSettings> = {
  resetRate: 0,
  cutRate: 0,
  stallRate: 0,
  delayMs: [0, 0],
  offline: false,
  faultWindowBytes: 4096,
  faultWindowMs: 2000,
};

/** Bytes held in one direction's delay queue before the sender is paused. */
const QUEUE_HIGH_WATER = 1024 * 1024;

function checkFaults(faults: Required<FaultSettings>): void {
  const rates = { resetRate: faults.resetRate, cutRate: faults.cutRate, stallRate: faults.stallRate };
  for (const [name, rate] of Object.entries(rates)) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be between 0 and 1 (got ${rate})`);
  }
  if (faults.resetRate + faults.cutRate + faults.stallRate > 1) {
    throw new RangeError('resetRate + cutRate + stallRate must not exceed 1: each connection gets one fate');
  }
  const [min, max] = faults.delayMs;
  if (!(min >= 0 && max >= min)) throw new RangeError(`delayMs must be [min, max] with 0 <= min <= max (got [${min}, ${max}])`);
  if (!(faults.faultWindowBytes >= 1)) throw new RangeError('faultWindowBytes must be at least 1');
  if (!(faults.faultWindowMs >= 1)) throw new RangeError('faultWindowMs must be at least 1');
}

/** Sends an RST where the platform can, so the peer sees ECONNRESET rather than an orderly close. */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/**
 * One direction of a connection: holds each chunk for its delay, writes in arrival order, and
 * pauses the sender while the receiver or the queue is full.
 */
class DelayedPipe {
  private readonly queue: { chunk: Buffer | null; due: number }[] = [];
  private queuedBytes = 0;
  private lastDue = 0;
  private timer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;
  private stopped = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly drawDelay: () => number,
  ) {}

  /** Queues a chunk, or the end of the stream when `chunk` is null. */
  push(chunk: Buffer | null): void {
    if (this.stopped) return;
    // Never earlier than the chunk before it: jitter must not reorder bytes.
    const due = Math.max(Date.now() + this.drawDelay(), this.lastDue);
    this.lastDue = due;
    this.queue.push({ chunk, due });
    if (chunk !== null) {
      this.queuedBytes += chunk.length;
      if (this.queuedBytes >= QUEUE_HIGH_WATER) this.from.pause();
    }
    this.flush();
  }

  /** Drops whatever is queued and forwards nothing more. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly flush = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped || this.waitingForDrain) return;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.due > now) {
        this.timer = setTimeout(this.flush, head.due - now);
        return;
      }
      this.queue.shift();
      if (this.to.destroyed) {
        this.stop();
        return;
      }
      if (head.chunk === null) {
        this.to.end();
        continue;
      }
      this.queuedBytes -= head.chunk.length;
      if (!this.to.write(head.chunk)) {
        this.waitingForDrain = true;
        this.to.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
        this.from.pause();
        return;
      }
    }
    if (this.queuedBytes < QUEUE_HIGH_WATER / 2 && this.from.isPaused()) this.from.resume();
  };
}

/**
 * Starts a fault-injecting proxy on 127.0.0.1 in front of `target`.
 *
 * @example
 * const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port }, faults: { resetRate: 0.2, delayMs: [0, 1000] }, seed: 7 });
 * // point the client at proxy.url ... then:
 * await proxy.close();
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let faults: Required<FaultSettings> = { ...DEFAULT_FAULTS, ...options.faults };
  checkFaults(faults);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  const drawConnectionSeed = seededRandom(seed);
  const stats: FaultProxyStats = {
    connections: 0,
    active: 0,
    refused: 0,
    upstreamErrors: 0,
    resets: 0,
    cuts: 0,
    stalls: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  const open = new Set<{ resetBoth(): void }>();

  const relay = (client: net.Socket): void => {
    const random = seededRandom(Math.floor(drawConnectionSeed() * 2 ** 32));
    const settings = faults;
    const roll = random();
    const fate: Fate =
      roll < settings.resetRate
        ? 'reset'
        : roll < settings.resetRate + settings.cutRate
          ? 'cut'
          : roll < settings.resetRate + settings.cutRate + settings.stallRate
            ? 'stall'
            : 'none';
    const drawWindow = (window: number): number => (Number.isFinite(window) ? Math.floor(random() * window) : Infinity);
    const strikeAtBytes = drawWindow(settings.faultWindowBytes);
    const strikeAfterMs = drawWindow(settings.faultWindowMs);
    // Read the live settings so setFaults can change the jitter of open connections.
    const drawDelay = (): number => {
      const [min, max] = faults.delayMs;
      return max === 0 ? 0 : min + random() * (max - min);
    };

    stats.connections += 1;
    stats.active += 1;
    const upstream = net.connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true });
    const up = new DelayedPipe(client, upstream, drawDelay);
    const down = new DelayedPipe(upstream, client, drawDelay);
    let bytesSeen = 0;
    let struck = false;
    let strikeTimer: NodeJS.Timeout | null = null;
    let closedSockets = 0;

    const entry = {
      resetBoth(): void {
        up.stop();
        down.stop();
        if (strikeTimer) clearTimeout(strikeTimer);
        resetSocket(client);
        resetSocket(upstream);
      },
    };
    open.add(entry);

    const strike = (): void => {
      if (struck) return;
      struck = true;
      if (strikeTimer) clearTimeout(strikeTimer);
      if (fate === 'reset') {
        stats.resets += 1;
        entry.resetBoth();
      } else if (fate === 'cut') {
        stats.cuts += 1;
        // What was already accepted still arrives, then FIN; anything later is dropped.
        up.push(null);
        down.push(null);
      } else if (fate === 'stall') {
        stats.stalls += 1;
        // Not reading either side lets TCP backpressure build up, as on a stalled path.
        up.stop();
        down.stop();
        client.pause();
        upstream.pause();
      }
    };

    const forward = (pipe: DelayedPipe, chunk: Buffer, direction: 'bytesUp' | 'bytesDown'): void => {
      if (struck) return;
      if (fate !== 'none') {
        const room = strikeAtBytes - bytesSeen;
        if (chunk.length >= room) {
          if (room > 0) {
            pipe.push(chunk.subarray(0, room));
            stats[direction] += room;
          }
          bytesSeen = strikeAtBytes;
          strike();
          return;
        }
      }
      bytesSeen += chunk.length;
      stats[direction] += chunk.length;
      pipe.push(chunk);
    };

    const onClose = (): void => {
      closedSockets += 1;
      if (closedSockets === 2) {
        open.delete(entry);
        stats.active -= 1;
        up.stop();
        down.stop();
        if (strikeTimer) clearTimeout(strikeTimer);
      }
    };

    client.on('data', (chunk: Buffer) => forward(up, chunk, 'bytesUp'));
    upstream.on('data', (chunk: Buffer) => forward(down, chunk, 'bytesDown'));
    client.on('end', () => {
      if (!struck) up.push(null);
    });
    upstream.on('end', () => {
      if (!struck) down.push(null);
    });
    // A failure on one side is passed on as a reset, as a transparent path would.
    client.on('error', () => entry.resetBoth());
    upstream.on('error', () => {
      if (!struck) stats.upstreamErrors += 1;
      entry.resetBoth();
    });
    client.on('close', onClose);
    upstream.on('close', onClose);

    if (fate !== 'none') {
      if (strikeAtBytes === 0) strike();
      else if (Number.isFinite(strikeAfterMs)) strikeTimer = setTimeout(strike, strikeAfterMs);
    }
  };

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (faults.offline) {
      stats.refused += 1;
      client.on('error', () => {});
      resetSocket(client);
      return;
    }
    relay(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;

  const cutAll = (): void => {
    for (const entry of [...open]) entry.resetBoth();
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    seed,
    setFaults(next: FaultSettings): void {
      const merged = { ...faults, ...next };
      checkFaults(merged);
      faults = merged;
    },
    cutAll,
    get stats(): FaultProxyStats {
      return { ...stats };
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutAll();
      await closed;
    },
  };
}
