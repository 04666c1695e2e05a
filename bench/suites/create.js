import { fire } from '../lib/load.js';
import { startSimmer } from '../lib/simmer.js';

export const name = 'create';
export const description = 'POST /jobs on the real server, fsync on, against the baseline';

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const server = await startSimmer(context);
  const { connections, durationS, warmupS } = context.settings;
  const options = { url: `${server.url}/jobs`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections };
  await fire({ ...options, duration: warmupS });
  const result = await fire({ ...options, duration: durationS });
  await server.stop();
  const baseline = context.figure('baseline', 'reqPerSec');
  return {
    figures: [
      { key: 'reqPerSec', label: `POST /jobs req/s, ${connections} connections`, value: result.reqPerSec, unit: 'req/s' },
      { key: 'p99Ms', label: 'POST /jobs p99', value: result.p99Ms, unit: 'ms' },
      {
        key: 'ratioToBaseline',
        label: 'req/s ÷ baseline req/s',
        value: baseline ? result.reqPerSec / baseline : null,
        unit: '×',
        target: { op: '>=', value: 0.25 },
      },
    ],
    extra: result,
  };
}
