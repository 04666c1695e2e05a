#!/usr/bin/env bash
# Runs Simmer's scale-out mode locally: a throwaway PostgreSQL on 127.0.0.1 plus several API and
# worker processes of the built server. Ctrl-C stops every process and deletes the database.
#
#   bash scripts/scale-out.sh [--api N] [--workers N] [--port FIRST_API_PORT]
#
# Defaults: 2 API processes on ports 3000 and 3001, 2 workers. Other settings (UNSPLASH_ACCESS_KEY,
# JOB_DELAY_*, LOG_LEVEL, ...) pass through from the environment. See docs/scale-out.md.
set -euo pipefail
cd "$(dirname "$0")/.."

API=2
WORKERS=2
PORT_BASE=${PORT:-3000}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --api) API="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --port) PORT_BASE="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "scale-out: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done

bash scripts/ensure-postgres.sh
if [[ ! -f packages/server/dist/main.js || ! -f packages/testkit/dist/postgres.js ]]; then
  npm run build
fi

export SCALE_OUT_API="$API" SCALE_OUT_WORKERS="$WORKERS" SCALE_OUT_PORT="$PORT_BASE"
exec node --input-type=module - <<'NODE'
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startPostgres } from '@simmer/testkit/postgres';

const apiCount = Number(process.env.SCALE_OUT_API);
const workerCount = Number(process.env.SCALE_OUT_WORKERS);
const portBase = Number(process.env.SCALE_OUT_PORT);

const postgres = await startPostgres();
const databaseUrl = await postgres.createDatabase('simmer');
console.log(`PostgreSQL: ${databaseUrl} (throwaway, deleted on exit)`);

const children = [];
const levels = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function launch(name, role, port) {
  const env = { ...process.env, STORE: 'postgres', DATABASE_URL: databaseUrl, ROLE: role, HOST: '127.0.0.1', PORT: String(port) };
  // Own process group: a Ctrl-C reaches only this script, which stops the children in order.
  const child = spawn(process.execPath, ['packages/server/dist/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const relay = (stream) =>
    createInterface({ input: stream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line);
        const extra = entry.url ? ` ${entry.url}` : entry.err ? ` (${entry.err.message})` : '';
        console.log(`[${name}] ${levels[entry.level] ?? entry.level} ${entry.msg}${extra}`);
      } catch {
        console.log(`[${name}] ${line}`);
      }
    });
  relay(child.stdout);
  relay(child.stderr);
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`[${name}] exited (${signal ?? code})`);
  });
  children.push(child);
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('stopping...');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await postgres.stop();
  process.exit(0);
}
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

for (let i = 0; i < apiCount; i++) launch(`api-${i + 1}`, 'api', portBase + i);
// Workers serve only /healthz, /readyz and /metrics: any free port.
for (let i = 0; i < workerCount; i++) launch(`worker-${i + 1}`, 'worker', 0);

const apiUrls = Array.from({ length: apiCount }, (_, i) => `http://127.0.0.1:${portBase + i}`);
for (const url of apiUrls) {
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (tries > 300) {
      console.error(`${url} did not become ready`);
      await stop();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
console.log(`\nSimmer scale-out is up: ${apiCount} API, ${workerCount} worker processes over one PostgreSQL.`);
for (const url of apiUrls) console.log(`  browse ${url}`);
console.log('Jobs created in one page appear live in the other. Ctrl-C stops everything.\n');
NODE
