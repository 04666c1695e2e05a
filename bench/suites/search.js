// GET /jobs?q= (find a job by its full id or its short id) on a large store, on both stores.
// A suite of bench/run.js (BENCH_SUITES=search) and a script of its own: node bench/suites/search.js
//
// Settings: BENCH_SEARCH_JOBS (1000000) jobs seeded into each store, BENCH_DURATION_S (10) of
// each kind of request per store, in alternating rounds. Seeding goes through each store's own createJob (in-process,
// durable as the server's creates are), not HTTP, so a million jobs take a minute, not ten; the
// searches then go to the real server process started on that data. All traffic is on 127.0.0.1.

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { startPostgres } from '../../packages/testkit/dist/postgres.js';
import { FileStore } from '../../packages/server/dist/store/file/file-store.js';
import { openPostgresStore } from '../../packages/server/dist/store/postgres/postgres-store.js';
import { summarizeLatency } from '../lib/load.js';
import { benchDataDir, startSimmer } from '../lib/simmer.js';
import { runStandalone } from '../lib/standalone.js';

export const name = 'search';
export const description = 'GET /jobs?q= by short id and by full id, p99 on a store of BENCH_SEARCH_JOBS jobs, file store and PostgreSQL';

/** One reader: a person searching waits for one answer; several would measure queueing on the 2 cores instead. */
const READERS = 1;
/** Alternating rounds: load from other processes lands on every kind of request alike. */
const ROUNDS = 5;
/** Creates in flight while seeding: the stores group them into one commit (file) or one statement (PostgreSQL). */
const SEED_IN_FLIGHT = 5_000;
/** Ids kept to search for, picked evenly over the seeding. */
const TARGETS = 20_000;
const logger = pino({ level: 'silent' });

/** Creates `count` pending jobs an hour out; returns a sample of their ids. */
async function seed(store, count, log) {
  const targets = [];
  const every = Math.max(1, Math.floor(count / TARGETS));
  const started = performance.now();
  const now = Date.now();
  for (let done = 0; done < count;) {
    const batch = Math.min(SEED_IN_FLIGHT, count - done);
    const created = await Promise.all(
      Array.from({ length: batch }, () => store.createJob({ id: uuidv7(), createdAt: now, runAt: now + 3_600_000, idempotencyKey: null })),
    );
    for (let i = 0; i < created.length; i += every) targets.push(created[i].job.id);
    done += batch;
    if (done % 100_000 === 0) log(`seeded ${done.toLocaleString('en')} jobs`);
  }
  return { targets, seedMs: performance.now() - started };
}

/** GET `pathOf(i)` from READERS keep-alive loops for `durationS`; every answer must be 200 and name the job. */
async function searchLatency(baseUrl, pathOf, durationS) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: READERS });
  const latencies = [];
  let misses = 0;
  let n = Math.floor(Math.random() * 1_000_000);
  const until = performance.now() + durationS * 1000;
  const once = (path, wanted) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      http
        .get(`${baseUrl}${path}`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => {
            if (res.statusCode === 200 && body.includes(wanted)) latencies.push(performance.now() - started);
            else misses += 1;
            resolve();
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });
  const loop = async () => {
    while (performance.now() < until) {
      const { path, wanted } = pathOf(n++);
      await once(path, wanted);
    }
  };
  try {
    await Promise.all(Array.from({ length: READERS }, loop));
  } finally {
    agent.destroy();
  }
  if (misses > 0) throw new Error(`${misses} searches did not answer 200 with their job`);
  return latencies;
}

/**
 * In alternating rounds: by short id, by full id, and `GET /jobs/{id}` (the primary-key read every
 * page makes) as the yardstick of what the machine allows for any one-job answer at that moment.
 */
async function measure(server, targets, durationS) {
  const pick = (i) => targets[(i * 7919) % targets.length];
  const kinds = {
    shortId: (i) => ({ path: `/jobs?q=${pick(i).slice(-6)}`, wanted: pick(i) }),
    fullId: (i) => ({ path: `/jobs?q=${pick(i)}`, wanted: pick(i) }),
    byId: (i) => ({ path: `/jobs/${pick(i)}`, wanted: pick(i) }),
  };
  await searchLatency(server.url, kinds.shortId, 1);
  const latencies = { shortId: [], fullId: [], byId: [] };
  const roundS = Math.max(1, durationS / ROUNDS);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [kind, pathOf] of Object.entries(kinds)) latencies[kind].push(...(await searchLatency(server.url, pathOf, roundS)));
  }
  return Object.fromEntries(Object.entries(latencies).map(([kind, values]) => [kind, summarizeLatency(values)]));
}

/** The store's own lookup, in this process, for every target: short id (the index) and full id. */
async function storeLatency(store, targets) {
  const time = async (lookup) => {
    const latencies = [];
    for (const id of targets) {
      const started = performance.now();
      await lookup(id);
      latencies.push(performance.now() - started);
    }
    return summarizeLatency(latencies);
  };
  return {
    shortId: await time((id) => store.listJobs({ shortId: id.slice(-6), limit: 101 })),
    fullId: await time((id) => store.getJob(id)),
  };
}

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const jobs = Number(process.env.BENCH_SEARCH_JOBS ?? 1_000_000);
  const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
  const results = {};

  // File store: seeded in this process, then searched through a server that recovered it from disk.
  {
    const dataDir = await benchDataDir(context);
    const store = await FileStore.open({
      dataDir,
      logger,
      minFreeBytes: 0,
      onFatal: (error) => {
        throw error;
      },
    });
    context.log(`file store: seeding ${jobs.toLocaleString('en')} jobs`);
    const { targets, seedMs } = await seed(store, jobs, (message) => context.log(`file store: ${message}`));
    const inStore = await storeLatency(store, targets);
    await store.close();
    // Recovering a million jobs on a busy 2-core machine can take more than the usual minute.
    const server = await startSimmer(context, { dataDir, startTimeoutMs: 300_000, env: { MAX_STORED_JOBS: String(2 * jobs) } });
    results.file = { seedMs, inStore, ...(await measure(server, targets, durationS)) };
    await server.stop();
  }

  // PostgreSQL: seeded through the store's batched creates, then searched through an API process.
  {
    const postgres = await startPostgres();
    context.defer(() => postgres.stop());
    const databaseUrl = await postgres.createDatabase('search');
    const store = await openPostgresStore({ databaseUrl, logger });
    context.log(`postgres: seeding ${jobs.toLocaleString('en')} jobs`);
    const { targets, seedMs } = await seed(store, jobs, (message) => context.log(`postgres: ${message}`));
    const inStore = await storeLatency(store, targets);
    await store.close();
    const server = await startSimmer(context, {
      startTimeoutMs: 300_000,
      env: { STORE: 'postgres', DATABASE_URL: databaseUrl, ROLE: 'api', MAX_STORED_JOBS: String(2 * jobs) },
    });
    results.postgres = { seedMs, inStore, ...(await measure(server, targets, durationS)) };
    await server.stop();
    await postgres.stop();
  }

  const label = jobs.toLocaleString('en');
  const target = { op: '<=', value: 10 };
  return {
    figures: ['file', 'postgres'].flatMap((store) => {
      const r = results[store];
      const where = `${store === 'file' ? 'file store' : 'PostgreSQL'}, ${label} jobs`;
      return [
        { key: `${store}ShortP99Ms`, label: `GET /jobs?q=<short id> p99, ${where}`, value: r.shortId.p99Ms, unit: 'ms', target },
        { key: `${store}FullP99Ms`, label: `GET /jobs?q=<full id> p99, ${where}`, value: r.fullId.p99Ms, unit: 'ms', target },
        { key: `${store}ByIdP99Ms`, label: `GET /jobs/{id} p99 (yardstick, same rounds), ${where}`, value: r.byId.p99Ms, unit: 'ms' },
        {
          key: `${store}StoreShortP99Ms`,
          label: `store lookup by short id p99, in process, ${where}`,
          value: r.inStore.shortId.p99Ms,
          unit: 'ms',
        },
      ];
    }),
    extra: { jobs, readers: READERS, rounds: ROUNDS, durationS, ...results },
  };
}

// Standalone: node bench/suites/search.js
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runStandalone(run, ({ figures, extra }) => {
    for (const figure of figures) console.log(`${figure.label}: ${figure.value.toFixed(2)} ${figure.unit}`);
    console.log(JSON.stringify(extra, null, 2));
  });
}
