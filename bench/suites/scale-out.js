// Scale-out benchmark: end-to-end jobs per second (POST /jobs → resolved) and how late jobs
// resolve behind their runAt, with 1, 2 and 4 worker processes over one throwaway PostgreSQL.
// Run after `npm run build`:   node bench/suites/scale-out.js
// It is also a bench suite (exports `name` and `run(context)`), so bench/run.js can load it.
//
// Per worker count, on a fresh database: one API process creates jobs due at once (delay 0) and
// another creates jobs due 1-3 s later; the workers use the built-in demo images, so the figures
// are Simmer's and PostgreSQL's, not Unsplash's.
//   - throughput: BENCH_SCALE_OUT_JOBS (2000) jobs created as fast as 32 connections allow; jobs/s
//     = jobs ÷ (last resolvedAt − first request sent);
//   - drain: the same number of jobs written straight into the database, all due at one instant;
//     jobs/s = jobs ÷ (last resolvedAt − that instant): what the workers alone sustain (claim, run,
//     settle), without the API's cost of creating;
//   - lateness: 40 jobs/s for 10 s, each due 1-3 s after creation, well below capacity;
//     lateness = resolvedAt − runAt (the run, its photo and its commit), p50/p99/max.
// Settings: BENCH_SCALE_OUT_JOBS, BENCH_SCALE_OUT_WORKERS ("1,2,4"). All traffic stays on 127.0.0.1.

import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { startPostgres } from '../../packages/testkit/dist/postgres.js';
import { startServerProcess } from '../../packages/testkit/dist/server-process.js';
import { openPostgresStore } from '../../packages/server/dist/store/postgres/postgres-store.js';
import { createJobs, percentile } from '../lib/load.js';
import { runStandalone } from '../lib/standalone.js';

export const name = 'scale-out';
export const description = 'PostgreSQL scale-out: create → resolved jobs/s and lateness behind runAt, 1/2/4 workers';

const PACED_RATE = 40;
const PACED_SECONDS = 10;

function positiveInts(raw, fallback) {
  if (!raw) return fallback;
  const values = raw.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`not a list of positive whole numbers: ${raw}`);
  return values;
}

/** Polls until `count` jobs are resolved (or failed); throws on timeout, naming what is stuck. */
async function waitForSettled(db, createdAfterMs, count, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query(
      `SELECT count(*) FILTER (WHERE status IN ('resolved', 'failed'))::int AS done, count(*)::int AS total
       FROM jobs WHERE created_at >= to_timestamp($1::float8 / 1000)`,
      [createdAfterMs],
    );
    if (rows[0].done >= count) return;
    if (Date.now() > deadline)
      throw new Error(`only ${rows[0].done} of ${count} jobs settled within ${timeoutMs} ms (${rows[0].total} created)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sends `rate` POST /jobs per second for `seconds`, each request on its own schedule. */
async function createPaced(url, rate, seconds) {
  const started = performance.now();
  const sends = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sends.push(
      fetch(`${url}/jobs`, { method: 'POST' }).then((res) => {
        if (res.status !== 202) throw new Error(`POST /jobs answered ${res.status}`);
        return res.arrayBuffer();
      }),
    );
  }
  await Promise.all(sends);
}

async function measure(context, postgres, workerCount, jobs) {
  const databaseUrl = await postgres.createDatabase(`bench_${workerCount}_${Date.now()}`);
  // All load comes from one address: the per-client create limit is off.
  const env = { STORE: 'postgres', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', RATE_LIMIT_CREATES: '0' };
  const processes = [];
  const stopAll = () => Promise.allSettled(processes.map((p) => p.stop()));
  context.defer(stopAll);
  const start = (extra) => startServerProcess({ env: { ...env, ...extra }, startTimeoutMs: 60_000 }).then((p) => (processes.push(p), p));

  const [apiNow, apiLater] = await Promise.all([
    start({ ROLE: 'api', JOB_DELAY_MIN_MS: '0', JOB_DELAY_MAX_MS: '0' }),
    start({ ROLE: 'api', JOB_DELAY_MIN_MS: '1000', JOB_DELAY_MAX_MS: '3000', JOB_DELAY_STEP_MS: '500' }),
    ...Array.from({ length: workerCount }, () => start({ ROLE: 'worker' })),
  ]);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    context.log(`${workerCount} worker(s): ${jobs} jobs due at once`);
    const burstStart = Date.now();
    await createJobs(apiNow.url, jobs, 32);
    const createdMs = Date.now() - burstStart;
    await waitForSettled(db, burstStart, jobs, 120_000);
    const { rows: burst } = await db.query(
      `SELECT round(extract(epoch from max(resolved_at)) * 1000)::int8 AS last, count(*) FILTER (WHERE status = 'failed')::int AS failed
       FROM jobs WHERE created_at >= to_timestamp($1::float8 / 1000)`,
      [burstStart],
    );
    const endToEndMs = Number(burst[0].last) - burstStart;

    context.log(`${workerCount} worker(s): ${jobs} jobs written to the database, all due at one instant`);
    const writer = await openPostgresStore({ databaseUrl, logger: pino({ level: 'silent' }), poolSize: 16 });
    const drainCreated = Date.now();
    const dueAt = drainCreated + 2_000 + jobs; // time to write them all at ~1,000/s, so none is due early
    let written = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (written < jobs) {
          written += 1;
          await writer.createJob({ id: uuidv7(), createdAt: drainCreated, runAt: dueAt, idempotencyKey: null });
        }
      }),
    );
    await writer.close();
    if (Date.now() > dueAt) context.log('  (writing took longer than planned: drain figure includes some of it)');
    await waitForSettled(db, drainCreated, jobs, 120_000);
    const { rows: drain } = await db.query(
      `SELECT round(extract(epoch from max(resolved_at)) * 1000)::int8 AS last FROM jobs WHERE created_at >= to_timestamp($1::float8 / 1000)`,
      [drainCreated],
    );
    const drainMs = Number(drain[0].last) - dueAt;

    context.log(`${workerCount} worker(s): ${PACED_RATE} jobs/s for ${PACED_SECONDS} s, due 1-3 s later`);
    const pacedStart = Date.now();
    await createPaced(apiLater.url, PACED_RATE, PACED_SECONDS);
    await waitForSettled(db, pacedStart, PACED_RATE * PACED_SECONDS, 60_000);
    const { rows: late } = await db.query(
      `SELECT extract(epoch from resolved_at - run_at) * 1000 AS ms FROM jobs WHERE created_at >= to_timestamp($1::float8 / 1000) ORDER BY 1`,
      [pacedStart],
    );
    const lateness = late.map((r) => Number(r.ms));
    return {
      workers: workerCount,
      jobs,
      failed: burst[0].failed,
      createPerSec: jobs / (createdMs / 1000),
      jobsPerSec: jobs / (endToEndMs / 1000),
      drainPerSec: jobs / (drainMs / 1000),
      latenessP50Ms: percentile(lateness, 50),
      latenessP99Ms: percentile(lateness, 99),
      latenessMaxMs: lateness.at(-1) ?? Number.NaN,
    };
  } finally {
    await db.end();
    await stopAll();
  }
}

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const jobs = positiveInts(process.env.BENCH_SCALE_OUT_JOBS, [2000])[0];
  const workerCounts = positiveInts(process.env.BENCH_SCALE_OUT_WORKERS, [1, 2, 4]);
  const postgres = await startPostgres();
  context.defer(() => postgres.stop());
  const runs = [];
  for (const workers of workerCounts) runs.push(await measure(context, postgres, workers, jobs));
  await postgres.stop();
  return {
    figures: runs.flatMap((r) => [
      { key: `jobsPerSec${r.workers}w`, label: `create → resolved, ${r.workers} worker(s)`, value: r.jobsPerSec, unit: 'jobs/s' },
      {
        key: `drainPerSec${r.workers}w`,
        label: `workers drain (due at once), ${r.workers} worker(s)`,
        value: r.drainPerSec,
        unit: 'jobs/s',
      },
      { key: `latenessP99Ms${r.workers}w`, label: `resolved behind runAt p99, ${r.workers} worker(s)`, value: r.latenessP99Ms, unit: 'ms' },
    ]),
    extra: runs,
  };
}

// Standalone: node bench/suites/scale-out.js
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runStandalone(run, ({ extra }) => {
    const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
    console.log('\nworkers  create/s  create→resolved jobs/s  drain jobs/s  lateness p50 ms  p99 ms  max ms  failed');
    for (const r of extra) {
      console.log(
        `${String(r.workers).padStart(7)}  ${fmt(r.createPerSec).padStart(8)}  ${fmt(r.jobsPerSec).padStart(22)}  ${fmt(r.drainPerSec).padStart(12)}  ${fmt(r.latenessP50Ms, 1).padStart(15)}  ${fmt(r.latenessP99Ms, 1).padStart(6)}  ${fmt(r.latenessMaxMs).padStart(6)}  ${String(r.failed).padStart(6)}`,
      );
    }
  });
}
