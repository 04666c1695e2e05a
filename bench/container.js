// The container figures of docs/benchmarks.md: the image's build time (cold, and with the
// dependency layers cached), its size, a container's start → /readyz, and POST /jobs through
// nginx ÷ straight to the same API container, in alternating rounds.
//
//   bash scripts/ensure-docker.sh && node bench/container.js
//
// Needs Docker (scripts/ensure-docker.sh) and the repository's Dockerfile; builds the image as
// `simmer:bench`. BENCH_COLD_BUILD=1 also measures a build with BuildKit's cache emptied first
// (`docker builder prune --all`: every later build on the machine starts cold too). Settings:
// BENCH_DURATION_S (10) per round, BENCH_ROUNDS (3), BENCH_CONNECTIONS (20). All traffic goes to
// 127.0.0.1.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fire, median, sleep } from './lib/load.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DOCKER = process.env.DOCKER ?? '/usr/bin/docker';
const IMAGE = 'simmer:bench';
const BASE_IMAGE = 'node:20-bookworm-slim';
const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const log = (message) => console.error(`[container] ${message}`);

async function docker(args, env = {}) {
  const { stdout } = await run(DOCKER, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 });
  return stdout.trim();
}

async function compose(project, files, args, env) {
  const { stdout } = await run('docker-compose', ['--no-ansi', '-p', project, ...files.flatMap((f) => ['-f', f]), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  return stdout.trim();
}

async function timedBuild() {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const secret = ca && existsSync(ca) ? ['--secret', `id=ca,src=${ca}`] : [];
  const started = performance.now();
  await docker(['build', ...secret, '-t', IMAGE, ROOT], { DOCKER_BUILDKIT: '1' });
  return (performance.now() - started) / 1000;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitReady(url, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A timer of our own: AbortSignal.timeout's does not keep the process alive, and a connection
    // that docker-proxy accepts before the server listens may wait with nothing else to.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 2_000);
    const status = await fetch(`${url}/readyz`, { signal: controller.signal }).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    clearTimeout(timer);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url}/readyz not 200 within ${timeoutMs} ms`);
    await sleep(10);
  }
}

const figures = {};

// 1. Builds: cold (optional), then with the dependency layers cached (a source file touched).
if (process.env.BENCH_SKIP_BUILDS === '1') {
  // The image as it is (an earlier run built it).
} else if (process.env.BENCH_COLD_BUILD === '1') {
  await docker(['builder', 'prune', '--all', '--force']);
  await docker(['rmi', '--force', IMAGE]).catch(() => undefined);
  figures.buildColdS = await timedBuild();
  log(`cold build: ${figures.buildColdS.toFixed(1)} s`);
} else {
  await timedBuild();
}
if (process.env.BENCH_SKIP_BUILDS !== '1') {
  const touched = join(ROOT, 'packages/server/src/bench-touch.ts');
  await writeFile(touched, `export const touchedAt = ${Date.now()};\n`);
  try {
    figures.buildCachedS = await timedBuild();
  } finally {
    await rm(touched, { force: true });
  }
  await timedBuild(); // back to the image of the sources as they are
  log(`build with the dependency layers cached: ${figures.buildCachedS.toFixed(1)} s`);
}

// 2. Size.
const [size, baseSize] = await Promise.all([
  docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE]),
  docker(['image', 'inspect', '-f', '{{.Size}}', BASE_IMAGE]),
]);
figures.imageMB = Number(size) / 1e6;
figures.addedMB = (Number(size) - Number(baseSize)) / 1e6;
log(`image ${figures.imageMB.toFixed(1)} MB, ${figures.addedMB.toFixed(1)} MB over ${BASE_IMAGE}`);

// 3. docker run → /readyz 200 (a fresh volume each time: an empty store).
const starts = [];
for (let i = 0; i < 5; i++) {
  const port = await freePort();
  const name = `simmer-bench-start-${process.pid}-${i}`;
  const started = performance.now();
  await docker([
    'run',
    '-d',
    '--name',
    name,
    '--read-only',
    '--tmpfs',
    '/tmp',
    '-v',
    `${name}:/data`,
    '-p',
    `127.0.0.1:${port}:3000`,
    IMAGE,
  ]);
  await waitReady(`http://127.0.0.1:${port}`);
  starts.push(performance.now() - started);
  await docker(['rm', '-f', '-v', name]);
  await docker(['volume', 'rm', '-f', name]);
}
figures.startToReadyMs = median(starts);
log(`docker run → /readyz: median ${figures.startToReadyMs.toFixed(0)} ms (${starts.map((ms) => ms.toFixed(0)).join(', ')})`);

// 4. POST /jobs through nginx ÷ straight to the API container behind it, alternating rounds.
//    api-2 is stopped, so nginx has the one upstream that the direct rounds reach.
const project = `simmer-bench-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'simmer-bench-'));
const nginxPort = await freePort();
const directPort = await freePort();
const override = join(dir, 'direct.yaml');
await writeFile(override, `services:\n  api-1:\n    ports:\n      - '127.0.0.1:${directPort}:3000'\n`);
const env = {
  SIMMER_IMAGE: IMAGE,
  SIMMER_BIND: '127.0.0.1',
  SIMMER_PORT: String(nginxPort),
  POSTGRES_PASSWORD: 'bench',
  RATE_LIMIT_CREATES: '0',
  // Jobs stay pending: the workers take no CPU from the rounds.
  JOB_DELAY_MIN_MS: '3600000',
  JOB_DELAY_MAX_MS: '3600000',
  LOG_LEVEL: 'warn',
};
const files = ['compose.postgres.yaml', override];
try {
  await compose(project, files, ['up', '-d'], env);
  await waitReady(`http://127.0.0.1:${nginxPort}`);
  await compose(project, files, ['stop', 'api-2'], env);
  const targets = { nginx: `http://127.0.0.1:${nginxPort}`, direct: `http://127.0.0.1:${directPort}` };
  await waitReady(targets.direct);
  const results = { nginx: [], direct: [] };
  const post = (url, seconds) =>
    fire({
      url: `${url}/jobs`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      connections,
      duration: seconds,
    });
  await post(targets.nginx, 2); // warm-up of both paths
  await post(targets.direct, 2);
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? ['direct', 'nginx'] : ['nginx', 'direct']) {
      const result = await post(targets[which], durationS);
      results[which].push(result);
      log(`round ${round + 1} ${which}: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
    }
  }
  figures.nginxReqPerSec = median(results.nginx.map((r) => r.reqPerSec));
  figures.directReqPerSec = median(results.direct.map((r) => r.reqPerSec));
  figures.nginxOverDirect = figures.nginxReqPerSec / figures.directReqPerSec;
  figures.rounds = results;
  log(
    `POST /jobs: nginx ${figures.nginxReqPerSec.toFixed(0)} ÷ direct ${figures.directReqPerSec.toFixed(0)} req/s = ${figures.nginxOverDirect.toFixed(2)}×`,
  );
} finally {
  await compose(project, files, ['down', '--volumes', '--timeout', '10'], env).catch((error) => log(`down failed: ${error.message}`));
  await rm(dir, { recursive: true, force: true });
}

const out = new URL('./results/container.json', import.meta.url);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(out, `${JSON.stringify({ at: new Date().toISOString(), figures }, null, 2)}\n`);
console.log(JSON.stringify(figures, null, 2));
