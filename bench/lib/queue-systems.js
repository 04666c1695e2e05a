// The four systems the queue-peers suite compares, behind one shape:
//   prepare(), spawnWorker(), addOne() → { addedAt, at } (add → handler start, wall ms), addFirst()
//   (a job added before a worker spawns), addMany(n, runAt), waitDrained(n), close().
// Simmer runs as the real server (an `api` process for adds, `worker` processes with demo
// images); the peers run in bench/lib/peer-worker.js. Wall times are performance.timeOrigin +
// performance.now() in every process (Simmer's workers get it through bench/lib/precise-clock.js),
// so latencies are sub-millisecond and comparable across processes.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { sleep } from './load.js';
import { startServerProcess } from '../../packages/testkit/dist/server-process.js';
import { FEED_CHANNEL } from '../../packages/server/dist/store/postgres/change-listener.js';
import { openPostgresStore } from '../../packages/server/dist/store/postgres/postgres-store.js';

export const wallNow = () => performance.timeOrigin + performance.now();
const PEER_WORKER = fileURLToPath(new URL('./peer-worker.js', import.meta.url));
const PRECISE_CLOCK = new URL('./precise-clock.js', import.meta.url).href;
const QUEUE = 'noop';

/** Polls `check` (async, true when done) every `everyMs` until it holds or `timeoutMs` passes. */
async function until(check, what, timeoutMs = 180_000, everyMs = 5) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A peer's worker process: tells when it is ready, each handler start, and how many it handled. */
function forkPeer(system, databaseUrl, onStarted) {
  const child = fork(PEER_WORKER, [system, databaseUrl], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const worker = { handled: 0, exited: new Promise((resolve) => child.once('exit', resolve)) };
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${system} worker exited (${code}) before it was ready`)));
    child.on('message', (message) => {
      if (message.type === 'ready') resolve();
      else if (message.type === 'handled') {
        worker.handled = message.count;
        worker.firstAt = message.firstAt;
      } else if (message.type === 'started') onStarted(message);
    });
  });
  worker.ready = ready;
  worker.mark = () => {
    worker.firstAt = null;
    child.send('mark');
  };
  worker.stop = async () => {
    if (child.exitCode === null) child.send('stop');
    await worker.exited;
  };
  return worker;
}

/** A peer queue (graphile-worker or pg-boss): adds from this process, workers in child processes. */
function peer(system, databaseUrl) {
  const workers = [];
  const waiting = new Map(); // addedAt → resolve
  let firstStart = null;
  const onStarted = ({ at, addedAt, first }) => {
    if (first) firstStart?.(at);
    waiting.get(addedAt)?.({ addedAt, at });
    waiting.delete(addedAt);
  };
  const isGraphile = system.startsWith('graphile');
  let utils;
  let boss;
  const db = new pg.Client({ connectionString: databaseUrl });
  let closed = false;

  const add = (payload, runAt) =>
    isGraphile ? utils.addJob(QUEUE, payload, runAt ? { runAt } : {}) : boss.send(QUEUE, payload, runAt ? { startAfter: runAt } : {});

  return {
    async prepare() {
      await db.connect();
      if (isGraphile) {
        await runMigrations({ connectionString: databaseUrl });
        utils = await makeWorkerUtils({ connectionString: databaseUrl });
      } else {
        boss = new PgBoss({ connectionString: databaseUrl, supervise: false, schedule: false, max: 4 });
        boss.on('error', () => undefined);
        await boss.start();
        await boss.createQueue(QUEUE, { notify: true });
      }
    },
    async spawnWorker() {
      const worker = forkPeer(system, databaseUrl, onStarted);
      workers.push(worker);
      await worker.ready;
    },
    addOne() {
      const addedAt = wallNow();
      const started = new Promise((resolve) => waiting.set(addedAt, resolve));
      return add({ addedAt }).then(() => started);
    },
    /** Adds a job, then spawns a worker: resolves with spawn → that job's handler start. */
    async firstJobAfterSpawn() {
      await add({ addedAt: 0, first: true });
      const started = new Promise((resolve) => (firstStart = resolve));
      const spawnedAt = wallNow();
      await this.spawnWorker();
      return (await started) - spawnedAt;
    },
    async addMany(count, runAt) {
      for (let i = 0; i < count; i += 1_000) {
        const n = Math.min(1_000, count - i);
        if (isGraphile) await utils.addJobs(Array.from({ length: n }, () => ({ identifier: QUEUE, payload: {}, runAt })));
        else
          await boss.insert(
            QUEUE,
            Array.from({ length: n }, () => ({ data: {}, startAfter: runAt })),
          );
      }
    },
    /** Before a drain: forget the workers' first handler start. */
    mark() {
      for (const worker of workers) worker.mark();
    },
    /** Resolves once `count` more jobs are handled and every completion is committed: { firstAt, doneAt } in wall ms. */
    async waitDrained(count, baseline) {
      await until(() => workers.reduce((sum, w) => sum + w.handled, 0) - baseline >= count, 'handlers to run every job', 180_000, 5);
      const left = isGraphile
        ? `SELECT count(*)::int AS n FROM graphile_worker._private_jobs`
        : `SELECT count(*)::int AS n FROM pgboss.job WHERE name = '${QUEUE}' AND state < 'completed'`;
      await until(async () => (await db.query(left)).rows[0].n === 0, 'completions to commit', 60_000, 2);
      const doneAt = wallNow();
      return { firstAt: Math.min(...workers.map((w) => w.firstAt ?? Infinity)), doneAt };
    },
    handled: () => workers.reduce((sum, w) => sum + w.handled, 0),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(workers.map((w) => w.stop()));
      await utils?.release();
      await boss?.stop({ graceful: false }).catch(() => undefined);
      await db.end();
    },
  };
}

/** Simmer: adds through POST /jobs to an `api` process; `worker` processes with demo images. */
function simmer(databaseUrl) {
  const processes = [];
  // A pool: latency samples 50 ms apart look their jobs up at the same time.
  const db = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  let closed = false;
  let api;
  // The bench's own store (for adds that skip HTTP) is open only while it adds: an open store
  // listens for commits, and its listener is woken by every commit of the drain it measures
  // (6–11 % of the drain's throughput, where the peers' adds leave nothing listening).
  const withStore = async (use) => {
    const store = await openPostgresStore({ databaseUrl, logger: pino({ level: 'silent' }), poolSize: 8 });
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  const env = { STORE: 'postgres', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', RATE_LIMIT_CREATES: '0' };
  const start = async (extra, nodeArgs = []) => {
    const proc = await startServerProcess({ env: { ...env, ...extra }, nodeArgs, startTimeoutMs: 60_000 });
    processes.push(proc);
    return proc;
  };
  const resolvedAt = async (id) => {
    const { rows } = await db.query({
      name: 'bench_resolved_at',
      text: `SELECT extract(epoch from resolved_at) * 1000 AS at FROM jobs WHERE id = $1 AND resolved_at IS NOT NULL`,
      values: [id],
    });
    return rows[0] ? Number(rows[0].at) : null;
  };
  // A job is looked up when Simmer announces an outcome (LISTEN), not polled every millisecond: the
  // peers' samples put no load on the database, so Simmer's should not either. The resolvedAt read
  // is the worker's own time stamp, so when it is read does not change the sample.
  // It listens only while a sample waits, so the drains carry no extra listener.
  const listener = new pg.Client({ connectionString: databaseUrl });
  const waiters = new Map(); // job id → look again
  let listening = Promise.resolve();
  // A failed LISTEN leaves the wait to its safety net.
  const listen = (on) =>
    (listening = listening.then(() => listener.query(on ? `LISTEN ${FEED_CHANNEL}` : 'UNLISTEN *')).catch(() => undefined));
  listener.on('error', () => undefined); // a lost connection leaves the waits to their safety net
  listener.on('notification', () => {
    for (const check of waiters.values()) check();
  });
  const waitResolved = (id) =>
    new Promise((resolve, reject) => {
      let looking = false;
      let again = false;
      const done = (error, at) => {
        clearTimeout(deadline);
        clearInterval(safetyNet);
        waiters.delete(id);
        if (waiters.size === 0) void listen(false);
        if (error) reject(error);
        else resolve(at);
      };
      const check = () => {
        if (looking) return void (again = true);
        looking = true;
        (async () => {
          do {
            again = false;
            const at = await resolvedAt(id);
            if (at !== null) return done(null, at);
          } while (again);
        })()
          .catch((error) => done(error))
          .finally(() => (looking = false));
      };
      const deadline = setTimeout(() => done(new Error(`job ${id} did not resolve within 30 s`)), 30_000);
      const safetyNet = setInterval(check, 100); // should a notification come before this wait began
      waiters.set(id, check);
      if (waiters.size === 1) void listen(true).then(check);
      else check();
    });

  return {
    async prepare() {
      await listener.connect();
      api = await start({ ROLE: 'api', JOB_DELAY_MIN_MS: '0', JOB_DELAY_MAX_MS: '0' });
    },
    async spawnWorker() {
      // BENCH_PROFILE_DIR: each worker writes a CPU profile there when it stops (node --cpu-prof).
      const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
      await start({ ROLE: 'worker', JOB_CONCURRENCY: '32' }, ['--import', PRECISE_CLOCK, ...profile]);
    },
    async addOne() {
      const addedAt = wallNow();
      const res = await fetch(`${api.url}/jobs`, { method: 'POST' });
      if (res.status !== 202) throw new Error(`POST /jobs answered ${res.status}`);
      const { id } = await res.json();
      // The job's resolvedAt is taken as its in-process demo photo returns: its handler start plus microseconds.
      return { addedAt, at: await waitResolved(id) };
    },
    async firstJobAfterSpawn() {
      const { job } = await withStore((store) =>
        store.createJob({ id: uuidv7(), createdAt: Date.now(), runAt: Date.now(), idempotencyKey: null }),
      );
      const spawnedAt = wallNow();
      await this.spawnWorker();
      return (await waitResolved(job.id)) - spawnedAt;
    },
    async addMany(count, runAt) {
      const at = runAt.getTime();
      await withStore((store) =>
        Promise.all(
          Array.from({ length: count }, () => store.createJob({ id: uuidv7(), createdAt: Date.now(), runAt: at, idempotencyKey: null })),
        ),
      );
    },
    mark() {},
    /** Resolves once the jobs due at `dueAt` are all settled: { firstAt (the earliest resolvedAt among them), doneAt } in wall ms. */
    async waitDrained(_count, _baseline, dueAt) {
      const left = `SELECT sum(pending + running)::int AS n FROM simmer_job_counts`;
      await until(async () => (await db.query(left)).rows[0].n === 0, 'the drain', 180_000, 5);
      const doneAt = wallNow();
      const { rows } = await db.query(
        `SELECT extract(epoch from min(resolved_at)) * 1000 AS first FROM jobs WHERE run_at = to_timestamp($1::float8 / 1000)`,
        [dueAt],
      );
      return { firstAt: Number(rows[0].first), doneAt };
    },
    handled: () => 0,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled(processes.map((p) => p.stop()));
      await listener.end().catch(() => undefined);
      await db.end();
    },
  };
}

export const SYSTEMS = ['simmer', 'graphile', 'graphile-batched', 'pg-boss'];

export function openSystem(system, databaseUrl) {
  return system === 'simmer' ? simmer(databaseUrl) : peer(system, databaseUrl);
}
