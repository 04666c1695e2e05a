import { median } from '../lib/load.js';
import { benchDataDir, seededStore, startSimmer } from '../lib/simmer.js';

export const name = 'recovery';
export const description = "restart on the seeded store: spawn to /readyz 200, and the store's own recovery time";

const RUNS = 3;

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const store = await seededStore(context);
  const emptyDir = await benchDataDir(context);
  const start = async (dataDir) => {
    const server = await startSimmer(context, { dataDir });
    // The store logs its own recovery time if it knows it; the figure is optional.
    const opened = await server.waitForLog((entry) => entry.msg === 'store opened', 1_000).catch(() => null);
    await server.stop();
    return {
      readyMs: server.startup.readyMs,
      listeningMs: server.startup.listeningMs,
      storeRecoveryMs: typeof opened?.recoveryMs === 'number' ? opened.recoveryMs : null,
    };
  };
  // Alternating the two stores spreads any background load on the machine over both.
  const empty = [];
  const full = [];
  for (let i = 0; i < RUNS; i += 1) {
    empty.push(await start(emptyDir));
    full.push(await start(store.dataDir));
  }
  const jobs = store.jobs.toLocaleString('en');
  return {
    figures: [
      {
        key: 'readyMs',
        label: `spawn → /readyz 200, ${jobs} jobs (median of ${RUNS})`,
        value: median(full.map((r) => r.readyMs)),
        unit: 'ms',
        target: { op: '<=', value: 2000 },
      },
      {
        key: 'storeRecoveryMs',
        label: `store recovery as logged, ${jobs} jobs (median of ${RUNS})`,
        value: median(full.map((r) => r.storeRecoveryMs)),
        unit: 'ms',
        target: { op: '<=', value: 2000 },
      },
      {
        key: 'emptyReadyMs',
        label: `spawn → /readyz 200, empty store (median of ${RUNS})`,
        value: median(empty.map((r) => r.readyMs)),
        unit: 'ms',
      },
      {
        key: 'emptyStoreRecoveryMs',
        label: `store recovery as logged, empty store (median of ${RUNS})`,
        value: median(empty.map((r) => r.storeRecoveryMs)),
        unit: 'ms',
      },
    ],
    extra: { full, empty },
  };
}
