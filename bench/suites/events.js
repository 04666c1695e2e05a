import { fork } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startServerProcess } from '../../packages/testkit/dist/server-process.js';
import { monotonicUs, profileOf, summarizeProfile } from '../lib/cpu-profile.js';
import { readCpuMs } from '../lib/rss.js';
import { startSimmer } from '../lib/simmer.js';

export const name = 'events';
export const description =
  'GET /events: delivery latency from a change to 1,000 and 10,000 subscribers in processes of their own, against a bare node:http fan-out';

/** BENCH_EVENT_SUBSCRIBERS: the subscriber counts measured, one server each (comma-separated). */
const COUNTS = (process.env.BENCH_EVENT_SUBSCRIBERS ?? '1000,10000').split(',').map((raw) => {
  const count = Number(raw.trim());
  if (!Number.isInteger(count) || count <= 0)
    throw new Error(`BENCH_EVENT_SUBSCRIBERS=${process.env.BENCH_EVENT_SUBSCRIBERS}: each count must be a positive whole number`);
  return count;
});
/** Subscribers per process; BENCH_EVENT_PROCESSES overrides how many processes share them. */
const PER_PROCESS = 2_500;
/**
 * Jobs created at a steady pace, each due 1-3 s later: created, running and settled, 60 changes a
 * second. A stream gets a job as it is when the hub reads it, so a job that moved twice between
 * two reads (running, then settled at once) is one change on every stream.
 */
const JOBS_PER_SECOND = 20;
const SECONDS = 10;
const CHANGES_PER_JOB = 3;
/** p99 targets by subscriber count (issue 19). */
const P99_TARGET_MS = { 1000: 25, 10000: 250 };

const SUBSCRIBERS_SCRIPT = new URL('../lib/event-subscribers.js', import.meta.url);

/** The soft limit on open files of this process tree (the server and subscribers inherit it). */
async function openFilesLimit() {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(await readFile('/proc/self/limits', 'utf8'));
    return match?.[1] === 'unlimited' ? Infinity : Number(match?.[1]);
  } catch {
    return null;
  }
}

/** The p-th percentile of a histogram given as [bucket, count, bucket, count, ...] sums, in ms. */
function histogramPercentile(totals, bucketMs, total, p) {
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [bucket, count] of totals) {
    seen += count;
    if (seen >= rank) return (bucket + 1) * bucketMs;
  }
  return Number.NaN;
}

/** A process holding `count` subscribers; resolves once all of them have had `ready`. */
function startSubscribers(context, url, count) {
  const child = fork(SUBSCRIBERS_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const handle = { child, settled: 0, report: null };
  context.defer(() => child.connected && child.send({ type: 'stop' }));
  context.defer(() => child.exitCode === null && child.kill());
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.type === 'ready') resolve();
      else if (message.type === 'error') reject(new Error(`a subscriber process could not open its streams: ${message.message}`));
      else if (message.type === 'progress') handle.settled = message.settled;
      else if (message.type === 'report') handle.report?.(message);
      else if (message.type === 'reset') handle.resetDone?.();
    });
    child.once('exit', (code) => reject(new Error(`a subscriber process exited (${code}) before its streams were ready`)));
  });
  child.send({ type: 'open', url, count });
  handle.ready = ready;
  handle.reset = () =>
    new Promise((resolve) => {
      handle.resetDone = () => {
        // Progress sent before the reset has all arrived by now (one channel, in order).
        handle.settled = 0;
        resolve();
      };
      child.send({ type: 'reset' });
    });
  handle.collect = () =>
    new Promise((resolve) => {
      handle.report = resolve;
      child.send({ type: 'report' });
    });
  return handle;
}

/**
 * `count` creates at JOBS_PER_SECOND; resolves once all are answered. A server whose event loop is
 * held by its fan-out answers late, and so does less work than asked: `createsPerSecond` says so.
 */
async function createAtPace(url, count) {
  const started = performance.now();
  const creates = [];
  let refused = 0;
  for (let i = 0; i < count; i += 1) {
    const wait = started + (i * 1000) / JOBS_PER_SECOND - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    creates.push(
      fetch(`${url}/jobs`, { method: 'POST' }).then(async (response) => {
        await response.arrayBuffer();
        // 503: the server shed the create (its event loop lagged past the overload limit); counted, not fatal.
        if (response.status === 503) refused += 1;
        else if (response.status !== 202) throw new Error(`POST /jobs answered ${response.status}`);
      }),
    );
  }
  await Promise.all(creates);
  return { refused, createsPerSecond: count / ((performance.now() - started) / 1000) };
}

/** Waits (up to 60 s) until the streams have had `expected` settled jobs between them. */
async function allSettled(context, holders, expected) {
  const deadline = Date.now() + 60_000;
  const settled = () => holders.reduce((sum, holder) => sum + holder.settled, 0);
  while (settled() < expected) {
    if (Date.now() > deadline) {
      // Reported as "not every change delivered", with what did arrive.
      context.log(`only ${settled()} of ${expected} settled jobs reached their streams within 60 s`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The baseline: bare-fanout.js, `res.write` of each change to every stream (see there). */
async function startBareFanOut(context) {
  const server = await startServerProcess({ entry: fileURLToPath(new URL('../lib/bare-fanout.js', import.meta.url)) });
  context.defer(() => server.stop());
  return server;
}

/**
 * One server (Simmer, or the bare fan-out when `bare`), `subscribers` streams held by processes of
 * their own, 200 jobs at 20 a second.
 * @param {import('../run.js').BenchContext} context
 */
async function measure(context, subscribers, bare) {
  const processes = Number(process.env.BENCH_EVENT_PROCESSES ?? Math.ceil(subscribers / PER_PROCESS));
  const profileDir = bare ? undefined : process.env.BENCH_PROFILE_DIR;
  if (profileDir) await mkdir(profileDir, { recursive: true });
  const server = bare
    ? await startBareFanOut(context)
    : await startSimmer(context, {
        env: {
          JOB_DELAY_MIN_MS: '1000',
          JOB_DELAY_MAX_MS: '3000',
          JOB_DELAY_STEP_MS: '1000',
          // Every subscriber comes from 127.0.0.1: the stream and connection caps are raised to fit them.
          EVENTS_MAX_STREAMS: String(subscribers + 100),
          EVENTS_MAX_STREAMS_PER_CLIENT: String(subscribers + 100),
          MAX_CONNECTIONS: String(subscribers + 200),
          MAX_CONNECTIONS_PER_CLIENT: String(subscribers + 200),
        },
        // BENCH_PROFILE_DIR: the server writes a CPU profile there when it stops (node --cpu-prof).
        nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      });

  const shares = Array.from({ length: processes }, (_, i) => Math.floor(subscribers / processes) + (i < subscribers % processes ? 1 : 0));
  const connectStarted = performance.now();
  const holders = [];
  for (const share of shares) {
    holders.push(startSubscribers(context, `${server.url}/events`, share));
    // One process's streams at a time: tens of thousands of connects at once only measure the accept queue.
    await holders.at(-1).ready;
  }
  const connectMs = performance.now() - connectStarted;

  context.log(
    `${bare ? 'bare fan-out' : 'Simmer'}: ${subscribers.toLocaleString('en')} subscribers in ${processes} process(es), ready in ${Math.round(connectMs)} ms; creating ${JOBS_PER_SECOND * SECONDS} jobs at ${JOBS_PER_SECOND}/s`,
  );
  // Warm-up, not counted: the first requests of a fresh server run cold code (an outlier of 40-80 ms
  // in the first second, where steady creates take 2-3 ms), as in every other suite (BENCH_WARMUP_S).
  const warmupJobs = Math.round(JOBS_PER_SECOND * context.settings.warmupS);
  if (warmupJobs > 0) {
    const warmup = await createAtPace(server.url, warmupJobs);
    await allSettled(context, holders, (warmupJobs - warmup.refused) * subscribers);
    await Promise.all(holders.map((holder) => holder.reset()));
  }

  const load = loadavg()[0];
  const cpuBefore = await readCpuMs(server.pid);
  const clientCpuBefore = (await Promise.all(holders.map((holder) => readCpuMs(holder.child.pid)))).reduce((a, b) => a + (b ?? 0), 0);
  const window = { fromUs: monotonicUs(), toUs: Infinity };
  const started = performance.now();
  const jobs = JOBS_PER_SECOND * SECONDS;
  const { refused, createsPerSecond } = await createAtPace(server.url, jobs);
  const accepted = jobs - refused;
  if (refused > 0) context.log(`${refused} of ${jobs} creates were refused with 503 (overload)`);
  // Done when every stream has every job settled.
  await allSettled(context, holders, accepted * subscribers);
  window.toUs = monotonicUs();
  const elapsedS = (performance.now() - started) / 1000;
  const cpuAfter = await readCpuMs(server.pid);
  const reports = await Promise.all(holders.map((holder) => holder.collect()));
  const clientCpuAfter = (await Promise.all(holders.map((holder) => readCpuMs(holder.child.pid)))).reduce((a, b) => a + (b ?? 0), 0);
  for (const holder of holders) holder.child.send({ type: 'stop' });
  await server.stop();

  const totals = new Map();
  for (const report of reports)
    for (let i = 0; i < report.buckets.length; i += 2)
      totals.set(report.buckets[i], (totals.get(report.buckets[i]) ?? 0) + report.buckets[i + 1]);
  const sorted = [...totals].sort((a, b) => a[0] - b[0]);
  const { bucketMs } = reports[0];
  const total = reports.reduce((sum, report) => sum + report.timed, 0);
  // Every stream must have had every change sent: as many as any process saw, every job settled, in order, none closed early.
  const changes = Math.max(...reports.map((report) => report.changes));
  const minCount = Math.min(...reports.map((report) => report.minCount));
  const deliveries = changes * subscribers;
  const missing = reports.some((report) => report.minCount !== changes || report.maxCount !== changes || report.minSettled !== accepted);
  const outOfOrder = reports.reduce((sum, report) => sum + report.outOfOrder, 0);
  const closedEarly = reports.reduce((sum, report) => sum + report.closedEarly, 0);
  const resets = reports.reduce((sum, report) => sum + report.resets, 0);
  const allDelivered = !missing && outOfOrder === 0 && closedEarly === 0 && resets === 0;

  let profile = null;
  if (profileDir) {
    const file = await profileOf(profileDir, server.pid);
    profile = file ? await summarizeProfile(file, { window }) : null;
    if (profile) {
      context.log(`server profile over the measured ${profile.spanMs} ms (${file}), self time:`);
      for (const entry of profile.top) context.log(`  ${String(entry.share).padStart(5)} %  ${entry.ms} ms  ${entry.fn}`);
    }
  }

  const serverCpuMs = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
  return {
    p50Ms: histogramPercentile(sorted, bucketMs, total, 50),
    p99Ms: histogramPercentile(sorted, bucketMs, total, 99),
    maxMs: Math.max(...reports.map((report) => report.maxMs)),
    delivered: allDelivered && refused === 0,
    cpuPer1000: serverCpuMs === null ? null : (1000 * serverCpuMs) / deliveries,
    cores: serverCpuMs === null ? null : serverCpuMs / 1000 / elapsedS,
    createsPerSecond,
    extra: {
      createsPerSecond,
      subscribers,
      processes,
      connectMs: Math.round(connectMs),
      jobs,
      createsRefused: refused,
      changes,
      changesReadTogether: accepted * CHANGES_PER_JOB - changes,
      timedChanges: Math.max(...reports.map((report) => report.timedChanges)),
      deliveries,
      timedDeliveries: total,
      minCount,
      outOfOrder,
      closedEarly,
      resets,
      measuredS: elapsedS,
      serverCpuMs,
      subscriberCpuMs: clientCpuAfter - clientCpuBefore,
      loadAverageAtStart: load,
      profile,
    },
  };
}

/** The figures of one subscriber count: Simmer's, the bare fan-out's, and Simmer's over the bare one's. */
function figuresOf(subscribers, simmer, bare) {
  const label = subscribers.toLocaleString('en');
  const target = P99_TARGET_MS[subscribers];
  const ratio = (a, b) => (a === null || b === null || !(b > 0) ? null : a / b);
  return [
    { key: `p50Ms_${subscribers}`, label: `event delivery p50, change → client, ${label} subscribers`, value: simmer.p50Ms, unit: 'ms' },
    {
      key: `p99Ms_${subscribers}`,
      label: `event delivery p99, change → client, ${label} subscribers`,
      value: simmer.p99Ms,
      unit: 'ms',
      ...(target === undefined ? {} : { target: { op: '<=', value: target } }),
    },
    { key: `maxMs_${subscribers}`, label: `event delivery max, ${label} subscribers`, value: simmer.maxMs, unit: 'ms' },
    {
      key: `delivered_${subscribers}`,
      label: `every change delivered to every stream, in order, no create refused, ${label} subscribers (1 = yes)`,
      value: simmer.delivered ? 1 : 0,
      unit: '',
      target: { op: '>=', value: 1 },
    },
    {
      key: `serverCpuPer1000_${subscribers}`,
      label: `server CPU per 1,000 deliveries, ${label} subscribers`,
      value: simmer.cpuPer1000,
      unit: 'ms',
    },
    {
      key: `serverCores_${subscribers}`,
      label: `server CPU, cores busy while measured, ${label} subscribers`,
      value: simmer.cores,
      unit: 'cores',
    },
    { key: `bareP50Ms_${subscribers}`, label: `bare fan-out p50, ${label} subscribers`, value: bare.p50Ms, unit: 'ms' },
    { key: `bareP99Ms_${subscribers}`, label: `bare fan-out p99, ${label} subscribers`, value: bare.p99Ms, unit: 'ms' },
    {
      key: `bareCpuPer1000_${subscribers}`,
      label: `bare fan-out CPU per 1,000 deliveries, ${label} subscribers`,
      value: bare.cpuPer1000,
      unit: 'ms',
    },
    {
      key: `bareCreatesPerSecond_${subscribers}`,
      label: `bare fan-out: creates answered a second (${JOBS_PER_SECOND} sent), ${label} subscribers`,
      value: bare.createsPerSecond,
      unit: '/s',
    },
    {
      key: `p99VsBare_${subscribers}`,
      label: `p99 ÷ bare fan-out's p99 (none when the bare server could not keep the pace), ${label} subscribers`,
      value: bare.createsPerSecond < 0.9 * JOBS_PER_SECOND ? null : ratio(simmer.p99Ms, bare.p99Ms),
      unit: '×',
    },
    {
      key: `cpuVsBare_${subscribers}`,
      label: `CPU per delivery ÷ bare fan-out's, ${label} subscribers`,
      value: ratio(simmer.cpuPer1000, bare.cpuPer1000),
      unit: '×',
    },
  ];
}

/**
 * For every created and settled change, the latency from the change's own timestamp (createdAt,
 * resolvedAt: taken just before its record is written, to the millisecond) to the moment a
 * subscriber's process reads it off its socket: an upper bound of commit → client. The server,
 * the load generator (this process) and the subscriber processes share one machine and its clock.
 * @param {import('../run.js').BenchContext} context
 */
export async function run(context) {
  const needed = Math.max(...COUNTS) + 1_000;
  const limit = await openFilesLimit();
  if (limit !== null && limit < needed)
    throw new Error(
      `open files limit ${limit} < ${needed}: raise it (\`ulimit -n ${needed}\`; \`npm run bench\` raises it to the hard limit)`,
    );
  const figures = [];
  const extra = {};
  for (const subscribers of COUNTS) {
    // The baseline first, then Simmer, on the same machine a minute apart: compare the ratios.
    const simmerFirst = process.env.BENCH_SIMMER_FIRST === '1';
    const first = await measure(context, subscribers, !simmerFirst);
    const second = await measure(context, subscribers, simmerFirst);
    const [simmer, bare] = simmerFirst ? [first, second] : [second, first];
    figures.push(...figuresOf(subscribers, simmer, bare));
    extra[subscribers] = { simmer: simmer.extra, bare: bare.extra };
  }
  return { figures, extra };
}
