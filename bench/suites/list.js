import { sampleLatency } from '../lib/load.js';
import { seedStore } from '../lib/simmer.js';

export const name = 'list';
export const description = 'GET /jobs?limit=100 latency with 1,000 and with all seeded jobs stored';

/** Concurrent readers: enough to load the server, few enough that p99 is latency, not queueing. */
const READERS = 10;

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const { durationS, jobs } = context.settings;
  const small = Math.min(1000, jobs);
  const samples = new Map();
  const measure = async (count, server) => {
    const url = `${server.url}/jobs?limit=100`;
    await sampleLatency(url, { connections: READERS, durationS: Math.min(1, durationS) });
    samples.set(count, await sampleLatency(url, { connections: READERS, durationS }));
  };
  // The seeded store is shared: memory and recovery measure the same DATA_DIR afterwards.
  context.shared.seededStore = seedStore(context, { checkpoints: [small], onCheckpoint: measure });
  const store = await context.shared.seededStore;
  const atSmall = samples.get(small);
  const atLarge = samples.get(jobs);
  const label = (count) => count.toLocaleString('en');
  return {
    figures: [
      { key: 'p99SmallMs', label: `GET /jobs?limit=100 p99, ${label(small)} jobs`, value: atSmall.p99Ms, unit: 'ms' },
      { key: 'p99LargeMs', label: `GET /jobs?limit=100 p99, ${label(jobs)} jobs`, value: atLarge.p99Ms, unit: 'ms' },
      {
        key: 'p99Ratio',
        label: `p99 at ${label(jobs)} ÷ p99 at ${label(small)}`,
        value: atLarge.p99Ms / atSmall.p99Ms,
        unit: '×',
        target: { op: '<=', value: 1.5 },
      },
      { key: 'seedJobsPerSec', label: `seeding rate (POST /jobs, ${context.settings.connections} connections)`, value: store.jobs / (store.seedMs / 1000), unit: 'jobs/s' },
    ],
    extra: { readers: READERS, atSmall, atLarge, seedMs: store.seedMs, rssAfterSeedingBytes: store.rssAfterSeedingBytes },
  };
}
