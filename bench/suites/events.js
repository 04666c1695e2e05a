import { connectSse } from '../../packages/testkit/dist/sse-client.js';
import { startSimmer } from '../lib/simmer.js';
import { percentile } from '../lib/load.js';

export const name = 'events';
export const description = 'GET /events: delivery latency from a change to 1,000 subscribed clients';

/** BENCH_EVENT_SUBSCRIBERS overrides the count, to see how latency grows with it. */
const SUBSCRIBERS = Number(process.env.BENCH_EVENT_SUBSCRIBERS ?? 1_000);
if (!Number.isInteger(SUBSCRIBERS) || SUBSCRIBERS <= 0)
  throw new Error(`BENCH_EVENT_SUBSCRIBERS=${process.env.BENCH_EVENT_SUBSCRIBERS} must be a positive whole number`);
/** Jobs created at a steady pace, each one due 1-3 s later: a created and a resolved change each. */
const JOBS_PER_SECOND = 20;
const SECONDS = 10;

/**
 * A change's own timestamp (createdAt for a new job, resolvedAt for a settled one) is taken just
 * before its record is written, so "timestamp → parsed at the client" covers the write, its fsync,
 * the fan-out and the socket: an upper bound of commit → client. Server and clients share one
 * machine and one wall clock. The clients share the two cores with the server, so the figure also
 * carries the cost of parsing a thousand streams in one process.
 * @param {import('../run.js').BenchContext} context
 */
export async function run(context) {
  const server = await startSimmer(context, {
    // Every subscriber comes from one address: the per-client stream cap is raised to fit them.
    env: {
      JOB_DELAY_MIN_MS: '1000',
      JOB_DELAY_MAX_MS: '3000',
      JOB_DELAY_STEP_MS: '1000',
      EVENTS_MAX_STREAMS_PER_CLIENT: String(SUBSCRIBERS + 10),
      MAX_CONNECTIONS_PER_CLIENT: String(SUBSCRIBERS + 100),
    },
  });
  const latencies = [];
  /** @type {Map<string, { at: number | null, first: number }>} by event id */
  const changes = new Map();
  let delivered = 0;
  let ready = 0;
  const onEvent = (event) => {
    if (event.event === 'ready') {
      ready += 1;
      return;
    }
    if (event.event !== 'job') return;
    delivered += 1;
    // Every subscriber gets the same frame: parse it once, so the clients' own work stays small.
    let change = changes.get(event.id);
    if (!change) {
      const job = JSON.parse(event.data);
      const stamp = job.status === 'pending' ? job.createdAt : job.status === 'resolved' || job.status === 'failed' ? job.resolvedAt : null;
      change = { at: stamp ? Date.parse(stamp) : null, first: Infinity };
      changes.set(event.id, change);
    }
    if (change.at === null) return;
    const latency = event.receivedAt - change.at;
    latencies.push(latency);
    change.first = Math.min(change.first, latency);
  };

  const streams = [];
  context.defer(() => streams.forEach((stream) => stream.close()));
  for (let i = 0; i < SUBSCRIBERS; i += 100) {
    const batch = Math.min(100, SUBSCRIBERS - i);
    streams.push(...(await Promise.all(Array.from({ length: batch }, () => connectSse(`${server.url}/events`, { onEvent })))));
  }
  // `ready` comes once per stream, after its (empty) replay: then every subscriber is live.
  const readyBy = Date.now() + 30_000;
  while (ready < SUBSCRIBERS) {
    if (Date.now() > readyBy) throw new Error(`only ${ready} of ${SUBSCRIBERS} streams were ready within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const jobs = JOBS_PER_SECOND * SECONDS;
  context.log(`${SUBSCRIBERS} subscribers; creating ${jobs} jobs at ${JOBS_PER_SECOND}/s`);
  const started = performance.now();
  const creates = [];
  for (let i = 0; i < jobs; i += 1) {
    const wait = started + (i * 1000) / JOBS_PER_SECOND - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    creates.push(fetch(`${server.url}/jobs`, { method: 'POST' }).then((response) => response.arrayBuffer()));
  }
  await Promise.all(creates);

  // Each job makes two timed changes (created, settled); wait until every subscriber has both.
  const expected = jobs * 2 * SUBSCRIBERS;
  const deadline = Date.now() + 60_000;
  while (latencies.length < expected) {
    if (Date.now() > deadline) throw new Error(`only ${latencies.length} of ${expected} timed deliveries arrived within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const closedEarly = (await Promise.all(streams.map((stream) => Promise.race([stream.closed, Promise.resolve('open')])))).filter(
    (state) => state !== 'open',
  );
  for (const stream of streams) stream.close();
  await server.stop();

  latencies.sort((a, b) => a - b);
  // The first subscriber to get a change shows the write and the hub; the rest is fan-out.
  const firsts = [...changes.values()]
    .filter((change) => change.at !== null)
    .map((change) => change.first)
    .sort((a, b) => a - b);
  return {
    figures: [
      {
        key: 'p50Ms',
        label: `event delivery p50, change → client, ${SUBSCRIBERS.toLocaleString('en')} subscribers`,
        value: percentile(latencies, 50),
        unit: 'ms',
      },
      {
        key: 'p99Ms',
        label: `event delivery p99, change → client, ${SUBSCRIBERS.toLocaleString('en')} subscribers`,
        value: percentile(latencies, 99),
        unit: 'ms',
      },
      { key: 'maxMs', label: 'event delivery max', value: latencies.at(-1), unit: 'ms' },
      { key: 'firstP50Ms', label: 'change → first of the subscribers, p50', value: percentile(firsts, 50), unit: 'ms' },
      { key: 'firstP99Ms', label: 'change → first of the subscribers, p99', value: percentile(firsts, 99), unit: 'ms' },
      {
        key: 'eventsPerSec',
        label: 'events delivered per second, all subscribers',
        value: delivered / ((performance.now() - started) / 1000),
        unit: 'events/s',
      },
    ],
    extra: { subscribers: SUBSCRIBERS, jobs, timedDeliveries: latencies.length, delivered, streamsDroppedEarly: closedEarly.length },
  };
}
