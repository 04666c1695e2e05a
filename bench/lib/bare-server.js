// The baseline: a bare node:http server answering a small JSON body, run as a child process so it
// has a core to itself like the real server. It logs the same "listening" line as Simmer so the
// testkit's startServerProcess can run it.
import http from 'node:http';

const body = JSON.stringify({
  id: '0193d9a4-7c2e-7b3a-9f1e-2d4c6b8a0e11',
  status: 'pending',
  createdAt: '2026-11-23T10:00:00.000Z',
  runAt: '2026-11-23T10:02:35.000Z',
  result: null,
});

const server = http.createServer((req, res) => {
  // Drain any request body so POST benchmarks behave like GET.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(
    `${JSON.stringify({ level: 30, msg: 'listening', url: `http://127.0.0.1:${port}`, bodyBytes: Buffer.byteLength(body) })}\n`,
  );
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
