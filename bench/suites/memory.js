import { settledRss } from '../lib/rss.js';
import { seedResolvedStore, seededStore, startSimmer } from '../lib/simmer.js';

export const name = 'memory';
export const description = 'RSS per pending and per resolved job: the server recovered on a seeded store minus the same server empty';

/** The same light traffic on both servers, so both have loaded the same code paths. */
async function warmUp(url) {
  for (let i = 0; i < 50; i += 1) {
    const res = await fetch(`${url}/jobs?limit=100`);
    await res.arrayBuffer();
  }
}

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const empty = await startSimmer(context);
  await warmUp(empty.url);
  const emptyRss = await settledRss(empty.pid);
  await empty.stop();
  if (emptyRss === null) return { figures: [], extra: { skipped: 'RSS is read from /proc, which this platform lacks' } };

  const store = await seededStore(context);
  const full = await startSimmer(context, { dataDir: store.dataDir });
  await warmUp(full.url);
  const fullRss = await settledRss(full.pid);
  await full.stop();

  // The same number of resolved jobs (each with its photo), seeded through the server and recovered.
  const resolvedStore = await seedResolvedStore(context, store.jobs);
  const resolved = await startSimmer(context, { dataDir: resolvedStore.dataDir });
  await warmUp(resolved.url);
  const resolvedRss = await settledRss(resolved.pid);
  await resolved.stop();

  const perJob = (rss) => (rss === null ? null : (rss - emptyRss) / store.jobs);
  const jobs = store.jobs.toLocaleString('en');
  const mb = (bytes) => bytes / (1024 * 1024);
  return {
    figures: [
      { key: 'emptyRssMb', label: 'RSS, empty store', value: mb(emptyRss), unit: 'MB' },
      { key: 'fullRssMb', label: `RSS, ${jobs} pending jobs (after recovery)`, value: mb(fullRss), unit: 'MB' },
      {
        key: 'bytesPerJob',
        label: 'RSS per pending job (after recovery)',
        value: perJob(fullRss),
        unit: 'B',
        target: { op: '<=', value: 2048 },
      },
      { key: 'resolvedRssMb', label: `RSS, ${jobs} resolved jobs (after recovery)`, value: mb(resolvedRss), unit: 'MB' },
      {
        key: 'bytesPerResolvedJob',
        label: 'RSS per resolved job (after recovery)',
        value: perJob(resolvedRss),
        unit: 'B',
        target: { op: '<=', value: 2048 },
      },
      ...(resolvedStore.rssAfterSeedingBytes === null
        ? []
        : [
            {
              key: 'bytesPerResolvedJobLive',
              label: `RSS per resolved job (live, after ${jobs} jobs ran)`,
              value: perJob(resolvedStore.rssAfterSeedingBytes),
              unit: 'B',
            },
          ]),
      ...(store.rssAfterSeedingBytes === null
        ? []
        : [
            {
              key: 'bytesPerJobAfterSeeding',
              label: `RSS per pending job (live, after ${jobs} POSTs)`,
              value: perJob(store.rssAfterSeedingBytes),
              unit: 'B',
              target: { op: '<=', value: 2048 },
            },
          ]),
    ],
    extra: {
      emptyRssBytes: emptyRss,
      fullRssBytes: fullRss,
      resolvedRssBytes: resolvedRss,
      rssAfterSeedingBytes: store.rssAfterSeedingBytes,
      jobs: store.jobs,
    },
  };
}
