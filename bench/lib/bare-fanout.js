// The events suite's baseline: a bare node:http server doing the same fan-out as Simmer's `/events`
// the way most Node code does it, `res.write(frame)` to every open response as each change happens,
// with no store, no replay, no bounds. `POST /jobs` answers 202 and plays one job's three changes
// (created now, running when due 1-3 s later, resolved just after) as frames of Simmer's own shape
// and size, so the event-subscribers harness reads both servers alike. It logs the same "listening"
// line as Simmer so the testkit's startServerProcess can run it.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

/** A resolved job's photo, the size of a demo photo in Simmer's job view. */
const photo = {
  id: 'demo-saffron-risotto-3',
  description: 'Saffron risotto, drawn for the Simmer demo',
  color: '#e0a43a',
  blurHash: null,
  width: 1200,
  height: 800,
  urls: Object.fromEntries(
    ['raw', 'full', 'regular', 'small', 'thumb'].map((size) => [size, `http://127.0.0.1/demo-images/saffron-risotto-3.svg?size=${size}`]),
  ),
  link: 'http://127.0.0.1/demo-images/saffron-risotto-3',
  author: { name: 'Simmer demo catalog', url: 'http://127.0.0.1/demo-images' },
  downloadLocation: null,
};

const iso = (ms) => new Date(ms).toISOString();
/** Every open `/events` response. */
const streams = new Set();
let seq = 0;

/** One change, written to every stream as it happens. */
function broadcast(job) {
  seq += 1;
  const frame = `id: ${seq}\nevent: job\ndata: ${JSON.stringify({ ...job, seq })}\n\n`;
  for (const res of streams) res.write(frame);
}

function playJob() {
  const createdAt = Date.now();
  const runAt = createdAt + 1000 * (1 + Math.floor(Math.random() * 3));
  const job = {
    id: randomUUID(),
    status: 'pending',
    createdAt: iso(createdAt),
    runAt: iso(runAt),
    resolvedAt: null,
    result: null,
    error: null,
    attempts: [],
  };
  broadcast(job);
  setTimeout(() => {
    const startedAt = iso(Date.now());
    broadcast({ ...job, status: 'running', attempts: [{ startedAt, endedAt: null, outcome: null, error: null }] });
    setImmediate(() => {
      const resolvedAt = Date.now();
      broadcast({
        ...job,
        status: 'resolved',
        resolvedAt: iso(resolvedAt),
        result: { photo, source: 'demo' },
        attempts: [{ startedAt, endedAt: iso(resolvedAt), outcome: 'resolved', error: null }],
      });
    });
  }, runAt - createdAt);
  return job;
}

const server = http.createServer((req, res) => {
  req.resume();
  if (req.method === 'POST' && req.url === '/jobs') {
    const job = playJob();
    const body = JSON.stringify(job);
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } else if (req.method === 'GET' && req.url === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(`retry: 2000\n\nid: ${seq}\nevent: ready\ndata: {"lastSeq":${seq}}\n\n`);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  } else if (req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  } else {
    res.writeHead(404).end();
  }
});
// As many streams as the suite opens: no timeout may end a quiet one.
server.requestTimeout = 0;
server.headersTimeout = 0;

server.listen(0, '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(`${JSON.stringify({ level: 30, msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
