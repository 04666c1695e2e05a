import http from 'node:http';
import net from 'node:net';
import type { Problem } from '@simmer/contracts';
import { requestFrom } from '@simmer/testkit/loopback-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw } from './raw-http.js';

// Round 2 of "a hostile client" (issue 23), each finding against the real process. Distinct
// clients are distinct loopback source addresses. Loopback only; every flood is bounded.

/** Opens `count` TCP connections from `localAddress` that send nothing; resolves once each is connected or refused. */
async function idleSockets(port: number, localAddress: string, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => {});
    sockets.push(socket);
    opened.push(new Promise((resolve) => socket.once('connect', resolve).once('close', resolve)));
  }
  await Promise.all(opened);
  return sockets;
}

const timed = async <T>(what: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const started = performance.now();
  const value = await what();
  return { ms: performance.now() - started, value };
};

async function metric(server: ServerProcess, name: string, labels: string, agent?: http.Agent): Promise<number> {
  const text = agent ? await getOver(agent, `${server.url}/metrics`) : (await requestFrom('127.0.0.1', `${server.url}/metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

/** A GET over `agent` (a kept-alive connection), resolving with the body. */
function getOver(agent: http.Agent, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, localAddress: '127.0.0.3', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in time`)));
    req.on('error', reject);
  });
}

describe('an idle-socket flood from one address, past the open-file limit (ulimit -n 512)', () => {
  let server: ServerProcess;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    server = await startServerProcess({ openFileLimit: 512, env: { RATE_LIMIT_CREATES: '0' } });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await server?.stop();
  });

  it('logs its limits, caps the flood per client, answers another client at once, and closes the idle ones', async () => {
    const limits = await server.waitForLog((entry) => entry.msg === 'limits');
    expect(limits).toMatchObject({ openFiles: { soft: 512, hard: 512 }, maxConnections: 384, maxConnectionsPerClient: 256 });

    sockets.push(...(await idleSockets(server.port, '127.0.0.2', 700)));
    // Other clients during the flood: fresh connections, answered within a second (the median of
    // five, so one stall of a busy shared host does not decide).
    const others: number[] = [];
    for (let i = 0; i < 5; i++) {
      const other = await timed(() => requestFrom(`127.0.1.${i + 1}`, `${server.url}/stats`));
      expect(other.value.status).toBe(200);
      others.push(other.ms);
    }
    expect(others.sort((a, b) => a - b)[2]).toBeLessThan(1_000);
    expect((await requestFrom('127.0.0.4', `${server.url}/jobs`, { method: 'POST' })).status).toBe(202);
    expect(await metric(server, 'simmer_connections_refused_total', 'reason="per_client"')).toBeGreaterThanOrEqual(700 - 256);
    expect(server.child.exitCode).toBeNull();

    // The ones it kept sent nothing: closed after the first-byte timeout (10 s), unanswered.
    await Promise.all(
      sockets.map((socket) => (socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve)))),
    );
    expect(await metric(server, 'simmer_connections_refused_total', 'reason="idle"')).toBe(256);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('descriptors run out (caps set above the open-file limit)', () => {
  let server: ServerProcess;
  const sockets: net.Socket[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    server = await startServerProcess({
      openFileLimit: 512,
      env: { MAX_CONNECTIONS: '100000', MAX_CONNECTIONS_PER_CLIENT: '100000' },
    });
  });

  afterAll(async () => {
    agent.destroy();
    for (const socket of sockets) socket.destroy();
    await server?.stop();
  });

  it('does not die of EMFILE: serves the connections it has, refuses new ones, and takes them again when descriptors return', async () => {
    await server.waitForLog((entry) => String(entry.msg).startsWith('MAX_CONNECTIONS is above the open-file limit'));
    await getOver(agent, `${server.url}/stats`);
    sockets.push(...(await idleSockets(server.port, '127.0.0.2', 700)));
    // Past the descriptors, libuv accepts and closes at once what it cannot keep (and nothing ends the process).
    await expect.poll(() => sockets.filter((socket) => socket.destroyed).length).toBeGreaterThan(0);
    // The kept-alive connection is still served during the flood, within a second.
    const during = await timed(() => getOver(agent, `${server.url}/stats`));
    expect(during.ms).toBeLessThan(1_000);
    expect(server.child.exitCode).toBeNull();

    for (const socket of sockets) socket.destroy();
    // Descriptors are back: a new connection is served again.
    await expect.poll(async () => (await requestFrom('127.0.0.4', `${server.url}/healthz`).catch(() => ({ status: 0 }))).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
  });
});

describe('rebinding, forged forwarded addresses and protocol edges', () => {
  let server: ServerProcess;
  const NAME = 'simmer.example.com';

  beforeAll(async () => {
    server = await startServerProcess({ env: { ALLOWED_HOSTS: NAME, TRUST_PROXY: 'true', RATE_LIMIT_CREATES: '3' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const expectProblem = (status: number, contentType: unknown, body: string, title: string) => {
    expect(contentType).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(body) as Problem).toMatchObject({ status, title });
  };

  it('refuses a rebound name on writes and /metrics (421), and answers an ALLOWED_HOSTS name', async () => {
    const rebound = `rebind.example:${server.port}`;
    const write = await requestFrom('127.0.0.2', `${server.url}/jobs`, {
      method: 'POST',
      headers: { host: rebound, origin: `http://${rebound}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(421);
    expectProblem(421, write.headers['content-type'], write.body, 'Misdirected Request');
    expect(write.body).toContain('ALLOWED_HOSTS');
    expect((await requestFrom('127.0.0.1', `${server.url}/metrics`, { headers: { host: rebound } })).status).toBe(421);

    const allowed = `${NAME}:${server.port}`;
    const created = await requestFrom('127.0.0.2', `${server.url}/jobs`, {
      method: 'POST',
      headers: { host: allowed, origin: `https://${allowed}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(created.status).toBe(202);
    expect((await requestFrom('127.0.0.1', `${server.url}/metrics`, { headers: { host: allowed } })).status).toBe(200);
  });

  it('with TRUST_PROXY=true, counts X-Forwarded-For garbage as the peer that sent it (three creates, then 429)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push(
        (await requestFrom('127.0.0.5', `${server.url}/jobs`, { method: 'POST', headers: { 'x-forwarded-for': `garbage${i}` } })).status,
      );
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429, 429, 429, 429]);
    const text = (await requestFrom('127.0.0.1', `${server.url}/metrics`)).body;
    expect(text).toMatch(/^simmer_forwarded_for_ignored_total 8$/m);
    await server.waitForLog((entry) => String(entry.msg).startsWith('TRUST_PROXY=true believes X-Forwarded-For'));
  });

  it.each([
    {
      what: 'two Host headers',
      bytes: 'GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: rebind.example\r\n\r\n',
      status: 400,
      title: 'Bad Request',
    },
    { what: 'no Host header', bytes: 'GET /stats HTTP/1.1\r\n\r\n', status: 400, title: 'Bad Request' },
    { what: 'a request line that is not HTTP', bytes: 'HELLO THERE\r\n\r\n', status: 400, title: 'Bad Request' },
    {
      what: 'a 20 KB URL',
      bytes: `GET /jobs?${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      status: 431,
      title: 'Request Header Fields Too Large',
    },
  ])('answers $what with a $status problem document carrying the security headers', async ({ bytes, status, title }) => {
    const response = await sendRaw(server.url, bytes);
    expect(response.status).toBe(status);
    expect(response.head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} ${title}\\r\\n`));
    expect(response.head).toMatch(/\r\ncontent-security-policy: default-src 'self'/i);
    expect(response.head).toMatch(/\r\nx-content-type-options: nosniff/i);
    expectProblem(status, /content-type: ([^\r]+)/i.exec(response.head)?.[1], response.body, title);
  });

  it('answers HTTP/1.0 without Host (it names nothing to check)', async () => {
    expect((await sendRaw(server.url, 'GET /healthz HTTP/1.0\r\n\r\n')).status).toBe(200);
  });

  it('answers headers that never finish with 408 after 15 s, and closes a connection that sends nothing after 10 s', async () => {
    const silent = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '127.0.0.6' });
    const silentClosed = new Promise<number>((resolve) => {
      let bytes = 0;
      silent.on('data', (chunk) => (bytes += chunk.length));
      silent.on('close', () => resolve(bytes));
      silent.on('error', () => {});
    });
    const slow = await sendRaw(server.url, 'GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\n', 30_000);
    expect(slow.status).toBe(408);
    expect(slow.head).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await silentClosed).toBe(0);
  });
});

describe('heavy reads shared fairly', () => {
  let server: ServerProcess;
  afterEach(async () => {
    await server?.stop();
  });

  it("keeps another client's /stats fast while one client reads /jobs?limit=1000 32 at a time", async () => {
    server = await startServerProcess({ env: { RATE_LIMIT_CREATES: '0', JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000' } });
    for (let i = 0; i < 1_200; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/jobs`, { method: 'POST' }).then((r) => r.arrayBuffer())));
    }
    const until = performance.now() + 5_000;
    const outcomes: number[] = [];
    const greedy = Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        outcomes.push((await requestFrom('127.0.0.2', `${server.url}/jobs?limit=1000`, { timeoutMs: 30_000 })).status);
      }
    });
    const latencies: number[] = [];
    while (performance.now() < until) {
      const { ms, value } = await timed(() => requestFrom('127.0.0.3', `${server.url}/stats`, { timeoutMs: 30_000 }));
      expect(value.status).toBe(200);
      latencies.push(ms);
    }
    await Promise.all(greedy);
    latencies.sort((a, b) => a - b);
    const median = latencies[Math.floor(latencies.length / 2)]!;
    console.log(
      `heavy reads: /stats median ${median.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms over ${latencies.length}; ` +
        `greedy lists ${outcomes.filter((s) => s === 200).length} × 200, ${outcomes.filter((s) => s === 429).length} × 429`,
    );
    // Before the share: a median of 4.9 s.
    expect(median).toBeLessThan(1_000);
    expect(outcomes.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(outcomes.filter((s) => s === 429).length).toBeGreaterThan(0);
  });
});
