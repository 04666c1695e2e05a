// Starting the real server for a benchmark, and the store of many pending jobs that several
// suites measure.
import { makeTempDir, removeTempDir } from '../../packages/testkit/dist/temp-dir.js';
import { startServerProcess } from '../../packages/testkit/dist/server-process.js';
import { createJobs } from './load.js';
import { settledRss } from './rss.js';

/** Jobs created by a benchmark wait an hour, so they stay pending while it measures. */
const BENCH_ENV = {
  JOB_DELAY_MIN_MS: '3600000',
  JOB_DELAY_MAX_MS: '3600000',
  LOG_LEVEL: 'info',
  // Benchmarks create far more jobs per minute from one address than a client may.
  RATE_LIMIT_CREATES: '0',
  // ...and read far more rows a second from it (the list suite); the share is still charged on every list.
  LIST_ROWS_PER_SECOND: '1000000000',
};

/**
 * Starts the built server (fsync is always on) and makes sure the run's cleanup stops it.
 * @param {import('../run.js').BenchContext} context
 * @param {{ dataDir?: string, env?: Record<string, string>, nodeArgs?: string[], startTimeoutMs?: number }} [options]
 */
export async function startSimmer(context, options = {}) {
  const server = await startServerProcess({
    dataDir: options.dataDir,
    nodeArgs: options.nodeArgs,
    env: { ...BENCH_ENV, ...options.env },
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
  });
  let stopping = false;
  const stop = server.stop.bind(server);
  server.stop = () => {
    stopping = true;
    return stop();
  };
  // A server that dies mid-run turns every figure after it into errors: say why it died.
  void server.waitForExit().then((status) => {
    if (!stopping)
      context.log(
        `server exited unexpectedly (code ${status.code}, signal ${status.signal}); last lines:\n${server.logs.slice(-15).join('\n')}`,
      );
  });
  context.defer(() => server.stop());
  return server;
}

/** Makes a temp dir that the run's cleanup removes. */
export async function benchDataDir(context) {
  const dir = await makeTempDir('simmer-bench-');
  // The seeded store outlives the suite that made it: later suites measure it too.
  context.deferToEnd(() => removeTempDir(dir));
  return dir;
}

/**
 * Fills a fresh DATA_DIR with `count` pending jobs through POST /jobs and stops the server, so the
 * store is measured as it recovers from disk.
 * @returns {Promise<{ dataDir: string, jobs: number, seedMs: number, rssAfterSeedingBytes: number | null }>}
 */
export async function seedStore(context, count) {
  const dataDir = await benchDataDir(context);
  const server = await startSimmer(context, { dataDir });
  context.log(`seeding ${count.toLocaleString('en')} jobs`);
  const started = performance.now();
  await createJobs(server.url, count, context.settings.connections);
  const seedMs = performance.now() - started;
  const rssAfterSeedingBytes = await settledRss(server.pid);
  await server.stop();
  return { dataDir, jobs: count, seedMs, rssAfterSeedingBytes };
}

/** The shared store of many pending jobs, seeded once per run by whichever suite needs it first. */
export function seededStore(context) {
  context.shared.seededStore ??= seedStore(context, context.settings.jobs);
  return context.shared.seededStore;
}

/**
 * Fills a fresh DATA_DIR with `count` resolved jobs: created through POST /jobs with no delay, run
 * by the server against the demo source, then the server is stopped so the store is measured as
 * it recovers from disk.
 * @returns {Promise<{ dataDir: string, jobs: number, rssAfterSeedingBytes: number | null }>}
 */
export async function seedResolvedStore(context, count) {
  const dataDir = await benchDataDir(context);
  const server = await startSimmer(context, {
    dataDir,
    env: { JOB_DELAY_MIN_MS: '0', JOB_DELAY_MAX_MS: '0', JOB_CONCURRENCY: '256', JOB_RETENTION_MS: '0' },
  });
  context.log(`seeding ${count.toLocaleString('en')} resolved jobs`);
  await createJobs(server.url, count, context.settings.connections);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { counts } = await (await fetch(`${server.url}/stats`)).json();
    if (counts.resolved + counts.failed >= count) break;
    if (Date.now() > deadline) throw new Error(`only ${counts.resolved} of ${count} jobs resolved in 10 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const rssAfterSeedingBytes = await settledRss(server.pid);
  await server.stop();
  return { dataDir, jobs: count, rssAfterSeedingBytes };
}
