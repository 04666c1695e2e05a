// Queue peers: Simmer's PostgreSQL mode side by side with graphile-worker (default, and with its
// local queue and batched completes) and pg-boss, on one throwaway PostgreSQL, in alternating
// rounds (each round runs every system once, in a rotated order, each on a fresh database).
// Per system and round: the first job after a worker process spawns; add → handler start, one job
// at a time back to back and 50 ms apart; then N no-op jobs all due at one instant drained by 1 and
// by 2 worker processes (32 jobs at a time each). Simmer's "add" is POST /jobs to an `api` process
// (delay 0) and its job takes a demo photo in-process and writes its ~1 KB result; a peer's add is
// its library's add call and its job does nothing. Each round also drains N jobs with Simmer's own
// claim and settle statements from bare connections (bench/lib/sql-ceiling.js): the most its SQL
// allows on this machine, whatever the worker. Figures are medians over rounds; the ratios are
// Simmer ÷ peer from the same run.
// Settings: BENCH_PEER_JOBS (20000), BENCH_PEER_ROUNDS (3), BENCH_PEER_SAMPLES (200 back to back,
// 60 spaced). Standalone: node bench/suites/queue-peers.js. All traffic stays on 127.0.0.1.

import { pathToFileURL } from 'node:url';
import { startPostgres } from '../../packages/testkit/dist/postgres.js';
import { median, sleep, summarizeLatency } from '../lib/load.js';
import { SYSTEMS, openSystem, wallNow } from '../lib/queue-systems.js';
import { drainWithStatementsAlone } from '../lib/sql-ceiling.js';
import { runStandalone } from '../lib/standalone.js';

export const name = 'queue-peers';
export const description = 'PostgreSQL queues side by side: Simmer, graphile-worker (default, batched), pg-boss';

const SPACING_MS = 50;
/** The name of the SQL-alone drain in rounds and figures; two connections per core keep the database busy. */
const CEILING = 'simmer-sql';
const CEILING_CONNECTIONS = 4;
function positiveInt(name, fallback) {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${raw} must be a positive whole number`);
  return value;
}

/**
 * All `jobs` due at one instant, far enough ahead that writing them is done by then. jobs/s from
 * the first handler start to the last completion committed: throughput, without the time a system
 * takes to notice that jobs fell due (the latency figures show that).
 */
async function drain(system, jobs, leadMs, log) {
  const dueAt = Date.now() + leadMs;
  const baseline = system.handled();
  system.mark();
  const writing = performance.now();
  await system.addMany(jobs, new Date(dueAt));
  const writeMs = performance.now() - writing;
  if (Date.now() > dueAt)
    log(`  writing ${jobs} jobs took ${Math.round(writeMs)} ms, past their due time: this drain figure includes some of it`);
  await sleep(dueAt - Date.now());
  const { firstAt, doneAt } = await system.waitDrained(jobs, baseline, dueAt);
  return { perSec: jobs / ((doneAt - firstAt) / 1000), writeMs, pickupMs: firstAt - dueAt };
}

async function measureOne(context, postgres, systemName, round, settings) {
  const databaseUrl = await postgres.createDatabase(`peers_${systemName.replace('-', '_')}_${round}_${Date.now()}`);
  const system = openSystem(systemName, databaseUrl);
  context.defer(() => system.close());
  try {
    await system.prepare();
    const firstMs = await system.firstJobAfterSpawn();
    for (let i = 0; i < 20; i++) await system.addOne(); // warm-up
    const backToBack = [];
    for (let i = 0; i < settings.samples; i++) {
      const { addedAt, at } = await system.addOne();
      backToBack.push(at - addedAt);
    }
    const spaced = [];
    const pending = [];
    for (let i = 0; i < settings.spacedSamples; i++) {
      const next = wallNow() + SPACING_MS;
      pending.push(system.addOne().then(({ addedAt, at }) => spaced.push(at - addedAt)));
      await sleep(next - wallNow());
    }
    await Promise.all(pending);
    const lead = (ms) => Math.max(1_000, Math.round(ms * 2 + 300));
    const one = await drain(system, settings.jobs, lead(settings.lastWriteMs.get(systemName) ?? 2_000), context.log);
    settings.lastWriteMs.set(systemName, one.writeMs);
    await system.spawnWorker();
    const two = await drain(system, settings.jobs, lead(one.writeMs), context.log);
    const round1 = {
      system: systemName,
      round,
      firstJobMs: firstMs,
      backToBack: summarizeLatency(backToBack),
      spaced: summarizeLatency(spaced),
      drain1PerSec: one.perSec,
      drain2PerSec: two.perSec,
    };
    context.log(
      `  round ${round} ${systemName}: drain ${Math.round(one.perSec)} / ${Math.round(two.perSec)} jobs/s; add→start p50 ${round1.backToBack.p50Ms.toFixed(2)} ms back to back, ${round1.spaced.p50Ms.toFixed(2)} ms spaced; first job ${Math.round(firstMs)} ms after spawn; first handler start ${Math.round(one.pickupMs)} / ${Math.round(two.pickupMs)} ms after the drain's due time`,
    );
    return round1;
  } finally {
    await system.close();
  }
}

/** Simmer's SQL alone: the same drain by its claim and settle statements, with no worker. */
async function measureCeiling(context, postgres, round, settings) {
  const databaseUrl = await postgres.createDatabase(`peers_sql_${round}_${Date.now()}`);
  const perSec = await drainWithStatementsAlone(databaseUrl, { jobs: settings.jobs, connections: CEILING_CONNECTIONS });
  context.log(`  round ${round} ${CEILING}: drain ${Math.round(perSec)} jobs/s (${CEILING_CONNECTIONS} connections, no worker)`);
  return { system: CEILING, round, drainPerSec: perSec };
}

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const settings = {
    jobs: positiveInt('BENCH_PEER_JOBS', 20_000),
    rounds: positiveInt('BENCH_PEER_ROUNDS', 3),
    samples: positiveInt('BENCH_PEER_SAMPLES', 200),
    spacedSamples: Math.max(10, Math.round(positiveInt('BENCH_PEER_SAMPLES', 200) * 0.3)),
    lastWriteMs: new Map(),
  };
  const postgres = await startPostgres();
  context.defer(() => postgres.stop());
  const rounds = [];
  for (let round = 1; round <= settings.rounds; round++) {
    // Alternate the order, so machine load and warm caches fall on every system in turn.
    const all = [...SYSTEMS, CEILING];
    const order = all.map((_, i) => all[(i + round - 1) % all.length]);
    for (const system of order)
      rounds.push(
        system === CEILING
          ? await measureCeiling(context, postgres, round, settings)
          : await measureOne(context, postgres, system, round, settings),
      );
  }
  await postgres.stop();

  const summary = Object.fromEntries(
    SYSTEMS.map((system) => {
      const mine = rounds.filter((r) => r.system === system);
      const m = (pick) => median(mine.map(pick));
      return [
        system,
        {
          drain1PerSec: m((r) => r.drain1PerSec),
          drain2PerSec: m((r) => r.drain2PerSec),
          backToBackP50Ms: m((r) => r.backToBack.p50Ms),
          backToBackP99Ms: m((r) => r.backToBack.p99Ms),
          spacedP50Ms: m((r) => r.spaced.p50Ms),
          spacedP99Ms: m((r) => r.spaced.p99Ms),
          firstJobMs: m((r) => r.firstJobMs),
        },
      ];
    }),
  );
  const s = summary.simmer;
  const ceiling = median(rounds.filter((r) => r.system === CEILING).map((r) => r.drainPerSec));
  const figures = SYSTEMS.flatMap((system) => {
    const f = summary[system];
    return [
      { key: `${system}.drain1`, label: `${system}: drain, 1 worker process`, value: f.drain1PerSec, unit: 'jobs/s' },
      { key: `${system}.drain2`, label: `${system}: drain, 2 worker processes`, value: f.drain2PerSec, unit: 'jobs/s' },
      { key: `${system}.b2bP50`, label: `${system}: add → start p50, back to back`, value: f.backToBackP50Ms, unit: 'ms' },
      { key: `${system}.b2bP99`, label: `${system}: add → start p99, back to back`, value: f.backToBackP99Ms, unit: 'ms' },
      { key: `${system}.spacedP50`, label: `${system}: add → start p50, ${SPACING_MS} ms apart`, value: f.spacedP50Ms, unit: 'ms' },
      { key: `${system}.spacedP99`, label: `${system}: add → start p99, ${SPACING_MS} ms apart`, value: f.spacedP99Ms, unit: 'ms' },
      { key: `${system}.first`, label: `${system}: first job after a worker spawns`, value: f.firstJobMs, unit: 'ms' },
    ];
  });
  const ratio = (a, b) => a / b;
  figures.push(
    {
      key: 'ratio.drain2.pgBoss',
      label: 'Simmer ÷ pg-boss, drain with 2 workers',
      value: ratio(s.drain2PerSec, summary['pg-boss'].drain2PerSec),
      unit: '×',
      target: { op: '>=', value: 1 },
    },
    {
      key: 'ratio.drain2.graphileBatched',
      label: 'Simmer ÷ graphile-worker batched, drain with 2 workers',
      value: ratio(s.drain2PerSec, summary['graphile-batched'].drain2PerSec),
      unit: '×',
      target: { op: '>=', value: 0.5 },
    },
    {
      key: 'ratio.b2bP50.graphile',
      label: 'Simmer ÷ graphile-worker default, add → start p50 back to back',
      value: ratio(s.backToBackP50Ms, summary.graphile.backToBackP50Ms),
      unit: '×',
      target: { op: '<=', value: 1.5 },
    },
    {
      key: `${CEILING}.drain`,
      label: `Simmer's claim and settle statements alone, ${CEILING_CONNECTIONS} connections, no worker`,
      value: ceiling,
      unit: 'jobs/s',
    },
    {
      key: 'ratio.drain2.ceiling',
      label: 'Simmer drain with 2 workers ÷ its statements alone',
      value: ratio(s.drain2PerSec, ceiling),
      unit: '×',
    },
    {
      key: 'ratio.ceiling.graphileBatched',
      label: 'Simmer statements alone ÷ graphile-worker batched, drain with 2 workers',
      value: ratio(ceiling, summary['graphile-batched'].drain2PerSec),
      unit: '×',
    },
    {
      key: 'ratio.drain1.pgBoss',
      label: 'Simmer ÷ pg-boss, drain with 1 worker',
      value: ratio(s.drain1PerSec, summary['pg-boss'].drain1PerSec),
      unit: '×',
    },
    {
      key: 'ratio.drain1.graphileBatched',
      label: 'Simmer ÷ graphile-worker batched, drain with 1 worker',
      value: ratio(s.drain1PerSec, summary['graphile-batched'].drain1PerSec),
      unit: '×',
    },
    {
      key: 'ratio.spacedP50.graphile',
      label: 'Simmer ÷ graphile-worker default, add → start p50 spaced',
      value: ratio(s.spacedP50Ms, summary.graphile.spacedP50Ms),
      unit: '×',
    },
  );
  return { figures, extra: { settings: { ...settings, lastWriteMs: undefined }, summary, rounds } };
}

// Standalone: node bench/suites/queue-peers.js
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runStandalone(run, ({ figures }) => {
    for (const f of figures) console.log(`${f.label.padEnd(64)} ${Number.isFinite(f.value) ? f.value.toFixed(2) : 'n/a'} ${f.unit}`);
  });
}
