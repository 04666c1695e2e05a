import { sampleLatency, summarizeLatency } from '../lib/load.js';
import { seededStore, seedStore, startSimmer } from '../lib/simmer.js';

export const name = 'list';
export const description = 'GET /jobs?limit=100 latency with 1,000 and with all seeded jobs stored';

/** Concurrent readers: enough to load the server, few enough that p99 is latency, not queueing. */
const READERS = 10;
/**
 * Both servers run side by side and are measured in alternating rounds, so a burst of other work
 * on the machine lands on both figures instead of skewing their ratio.
 */
const ROUNDS = 5;

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const { durationS, jobs } = context.settings;
  const smallCount = Math.min(1000, jobs);
  const small = await seedStore(context, smallCount);
  const large = await seededStore(context);
  const servers = [
    { count: smallCount, server: await startSimmer(context, { dataDir: small.dataDir }), latencies: [] },
    { count: large.jobs, server: await startSimmer(context, { dataDir: large.dataDir }), latencies: [] },
  ];
  const roundS = Math.max(1, durationS / ROUNDS);
  for (const entry of servers) await sampleLatency(`${entry.server.url}/jobs?limit=100`, { connections: READERS, durationS: 1 });
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const entry of servers) {
      entry.latencies.push(...(await sampleLatency(`${entry.server.url}/jobs?limit=100`, { connections: READERS, durationS: roundS })));
    }
  }
  for (const entry of servers) await entry.server.stop();

  const [atSmall, atLarge] = servers.map((entry) => summarizeLatency(entry.latencies));
  const label = (count) => count.toLocaleString('en');
  return {
    figures: [
      { key: 'p99SmallMs', label: `GET /jobs?limit=100 p99, ${label(smallCount)} jobs`, value: atSmall.p99Ms, unit: 'ms' },
      { key: 'p99LargeMs', label: `GET /jobs?limit=100 p99, ${label(large.jobs)} jobs`, value: atLarge.p99Ms, unit: 'ms' },
      {
        key: 'p99Ratio',
        label: `p99 at ${label(large.jobs)} ÷ p99 at ${label(smallCount)}`,
        value: atLarge.p99Ms / atSmall.p99Ms,
        unit: '×',
        target: { op: '<=', value: 1.5 },
      },
      {
        key: 'seedJobsPerSec',
        label: `seeding rate (POST /jobs, ${context.settings.connections} connections)`,
        value: large.jobs / (large.seedMs / 1000),
        unit: 'jobs/s',
      },
    ],
    extra: { readers: READERS, rounds: ROUNDS, atSmall, atLarge, seedMs: large.seedMs, rssAfterSeedingBytes: large.rssAfterSeedingBytes },
  };
}
