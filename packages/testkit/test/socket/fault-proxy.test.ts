import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy, type FaultSettings } from '../../src/fault-proxy.js';

interface Reply {
  status: number;
  body: Buffer;
}

/** One request on a fresh connection, so every request meets a newly drawn fate. */
function request(url: string, options: { method?: string; body?: Buffer; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(options.path ?? '/', url), { method: options.method ?? 'GET', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('fault proxy', () => {
  let target: http.Server;
  let targetPort: number;
  let proxy: FaultProxy | undefined;
  const bigBody = randomBytes(2 * 1024 * 1024);

  // Echoes POST bodies; GET /big answers 2 MB.
  beforeEach(async () => {
    target = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.end(bigBody);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.end(Buffer.concat(chunks)));
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    targetPort = (target.address() as net.AddressInfo).port;
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  const start = async (faults?: FaultSettings, seed?: number): Promise<FaultProxy> => {
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: targetPort }, faults, seed });
    return proxy;
  };

  it('passes traffic through intact in both directions when no faults are set', async () => {
    const p = await start();
    const upload = randomBytes(3 * 1024 * 1024);
    const echoed = await request(p.url, { method: 'POST', body: upload });
    expect(echoed.status).toBe(200);
    expect(sha(echoed.body)).toBe(sha(upload));
    const big = await request(p.url, { path: '/big' });
    expect(sha(big.body)).toBe(sha(bigBody));
    expect(p.stats).toMatchObject({ connections: 2, resets: 0, cuts: 0, stalls: 0 });
    expect(p.stats.bytesUp).toBeGreaterThan(upload.length);
    expect(p.stats.bytesDown).toBeGreaterThan(upload.length + bigBody.length);
  });

  it('delays each chunk by the configured jitter', async () => {
    const p = await start({ delayMs: [150, 200] });
    const started = performance.now();
    const reply = await request(p.url, { method: 'POST', body: Buffer.from('hello') });
    // The request and its answer are each held at least 150 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    expect(reply.body.toString()).toBe('hello');
  });

  it('keeps bytes in order under jitter and backpressure', async () => {
    const p = await start({ delayMs: [0, 5] });
    const upload = randomBytes(4 * 1024 * 1024);
    const [echoed, big] = await Promise.all([request(p.url, { method: 'POST', body: upload }), request(p.url, { path: '/big' })]);
    expect(sha(echoed.body)).toBe(sha(upload));
    expect(sha(big.body)).toBe(sha(bigBody));
  });

  it('resets a connection so the client sees ECONNRESET', async () => {
    const p = await start({ resetRate: 1, faultWindowBytes: 1 });
    await expect(request(p.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(p.stats.resets).toBe(1);
  });

  it('resets a connection in the middle of a response', async () => {
    const p = await start({ resetRate: 1, faultWindowBytes: 200_000, faultWindowMs: Infinity }, 3);
    await expect(request(p.url, { path: '/big' })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(p.stats.resets).toBe(1);
    expect(p.stats.bytesDown).toBeLessThan(200_000);
  });

  it('cuts a connection with an orderly FIN that the client sees as an end, not an error', async () => {
    const p = await start({ cutRate: 1, faultWindowBytes: 10, faultWindowMs: Infinity });
    const socket = net.connect(p.port, '127.0.0.1');
    const errors: Error[] = [];
    socket.on('error', (error) => errors.push(error));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.resume();
    await once(socket, 'end');
    socket.destroy();
    expect(errors).toEqual([]);
    expect(p.stats.cuts).toBe(1);
  });

  it('stalls a connection: nothing arrives, the socket stays open, cutAll then resets it', async () => {
    const p = await start({ stallRate: 1, faultWindowBytes: 1 });
    const pending = request(p.url);
    pending.catch(() => {});
    // Absence of an answer can only be shown by waiting a bounded while.
    const outcome = await Promise.race([
      pending.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((resolve) => setTimeout(() => resolve('stalled'), 300)),
    ]);
    expect(outcome).toBe('stalled');
    expect(p.stats).toMatchObject({ stalls: 1, active: 1 });
    p.cutAll();
    await expect(pending).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('refuses new connections while offline and serves again once back online', async () => {
    const p = await start();
    p.setFaults({ offline: true });
    await expect(request(p.url)).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(p.stats.refused).toBe(1);
    p.setFaults({ offline: false });
    expect((await request(p.url, { method: 'POST', body: Buffer.from('back') })).body.toString()).toBe('back');
  });

  it('draws the same fates for the same seed', async () => {
    const outcomes = async (seed: number): Promise<string> => {
      const p = await startFaultProxy({
        target: { host: '127.0.0.1', port: targetPort },
        faults: { resetRate: 0.5, faultWindowBytes: 1 },
        seed,
      });
      let pattern = '';
      for (let i = 0; i < 24; i += 1) {
        pattern += await request(p.url).then(
          () => 'o',
          () => 'x',
        );
      }
      await p.close();
      return pattern;
    };
    const first = await outcomes(42);
    expect(first).toMatch(/o/);
    expect(first).toMatch(/x/);
    expect(await outcomes(42)).toBe(first);
  });

  it('frees the port and every connection on close', async () => {
    const p = await start({ stallRate: 1, faultWindowBytes: 1 });
    const upstreamClosed = new Promise<void>((resolve) => target.once('connection', (s: net.Socket) => s.once('close', () => resolve())));
    const client = net.connect(p.port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    // events.once would reject on the reset's 'error'; only the close matters here.
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    await p.close();
    proxy = undefined;
    await Promise.all([clientClosed, upstreamClosed]);
    const again = net.connect(p.port, '127.0.0.1');
    const [error] = (await once(again, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('rejects rates that add up to more than one', async () => {
    await expect(
      startFaultProxy({ target: { host: '127.0.0.1', port: targetPort }, faults: { resetRate: 0.6, cutRate: 0.6 } }),
    ).rejects.toThrow(RangeError);
  });
});
