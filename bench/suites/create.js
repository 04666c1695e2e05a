import { fire } from '../lib/load.js';
import { readCpuMs } from '../lib/rss.js';
import { startSimmer } from '../lib/simmer.js';
import { startBareServer } from './baseline.js';

export const name = 'create';
export const description =
  'POST /jobs on the real server, fsync on, with the per-client limiter on (a limit far above the load) and off, against the baseline and the bare server in alternating rounds';

/** Far above anything one benchmark client sends in a minute: the limiter counts every request and refuses none. */
const LIMIT_FAR_ABOVE_LOAD = '1000000000';

/** Alternating rounds show whether other work on the machine moved both sides alike. */
const ROUNDS = 5;

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const { connections, durationS, warmupS } = context.settings;
  const limited = await startSimmer(context, { env: { RATE_LIMIT_CREATES: LIMIT_FAR_ABOVE_LOAD } });
  const unlimited = await startSimmer(context, { env: { RATE_LIMIT_CREATES: '0' } });
  const bare = await startBareServer(context);
  const request = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections };
  const sides = [
    { server: limited, rounds: [] },
    { server: unlimited, rounds: [] },
    { server: bare, rounds: [] },
  ];
  for (const side of sides) await fire({ ...request, url: `${side.server.url}/jobs`, duration: warmupS });
  const roundS = Math.max(1, Math.round(durationS / ROUNDS));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const side of sides) {
      const cpuBefore = await readCpuMs(side.server.pid);
      const result = await fire({ ...request, url: `${side.server.url}/jobs`, duration: roundS });
      const cpuAfter = await readCpuMs(side.server.pid);
      side.rounds.push({ ...result, cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore });
    }
  }
  await limited.stop();
  await unlimited.stop();
  await bare.stop();

  /** Server CPU per request over every round, in µs: the limiter's cost, whatever else the machine does. */
  const cpuPerRequestUs = (side) =>
    side.rounds.some((r) => r.cpuMs === null)
      ? null
      : (1000 * side.rounds.reduce((sum, r) => sum + r.cpuMs, 0)) / side.rounds.reduce((sum, r) => sum + r.requests, 0);
  const perSecond = (side) => side.rounds.reduce((sum, r) => sum + r.requests, 0) / (ROUNDS * roundS);
  const medianP99 = (side) => side.rounds.map((r) => r.p99Ms).sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
  const [created, withoutLimiter, baseline] = sides;
  const standalone = context.figure('baseline', 'reqPerSec');
  return {
    figures: [
      { key: 'reqPerSec', label: `POST /jobs req/s, limiter on, ${connections} connections`, value: perSecond(created), unit: 'req/s' },
      { key: 'p99Ms', label: `POST /jobs p99, limiter on (median of ${ROUNDS} rounds)`, value: medianP99(created), unit: 'ms' },
      { key: 'limiterOffReqPerSec', label: 'POST /jobs req/s, limiter off, same rounds', value: perSecond(withoutLimiter), unit: 'req/s' },
      {
        key: 'limiterOverhead',
        label: 'limiter on ÷ limiter off, same rounds',
        value: perSecond(created) / perSecond(withoutLimiter),
        unit: '×',
      },
      { key: 'cpuPerRequestUs', label: 'server CPU per POST /jobs, limiter on', value: cpuPerRequestUs(created), unit: 'µs' },
      {
        key: 'limiterOffCpuPerRequestUs',
        label: 'server CPU per POST /jobs, limiter off',
        value: cpuPerRequestUs(withoutLimiter),
        unit: 'µs',
      },
      { key: 'baselineReqPerSec', label: 'bare server req/s, same rounds', value: perSecond(baseline), unit: 'req/s' },
      // The target is judged against the standalone baseline: in alternating rounds the server's
      // own after-work (GC, snapshots) spills into the bare server's rounds and flatters the ratio.
      {
        key: 'ratioToBaseline',
        label: 'POST /jobs req/s, limiter on ÷ baseline suite req/s',
        value: standalone ? perSecond(created) / standalone : null,
        unit: '×',
        target: { op: '>=', value: 0.35 },
      },
      {
        key: 'ratioInterleaved',
        label: 'POST /jobs req/s, limiter on ÷ bare server req/s, same rounds',
        value: perSecond(created) / perSecond(baseline),
        unit: '×',
      },
    ],
    extra: { rounds: ROUNDS, roundS, simmer: created.rounds, simmerLimiterOff: withoutLimiter.rounds, bare: baseline.rounds },
  };
}
