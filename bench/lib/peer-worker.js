// One worker process of a peer queue, for the queue-peers suite: `node peer-worker.js SYSTEM DATABASE_URL`
// with SYSTEM one of graphile, graphile-batched, pg-boss. It runs a no-op task 32 jobs at a time
// and tells its parent (IPC) when it is ready, when each job's handler starts (wall time in ms, to
// the microsecond), and how many jobs it has handled. It stops on the message 'stop' or SIGTERM.

import { run } from 'graphile-worker';
import { PgBoss } from 'pg-boss';

const [system, connectionString] = process.argv.slice(2);
const CONCURRENCY = 32;
const QUEUE = 'noop'; // as in queue-systems.js

const wallNow = () => performance.timeOrigin + performance.now();
let handled = 0;
let reported = 0;
/** The first handler start since the parent's last 'mark' (a drain's start). */
let firstAt = null;
const send = (message) => process.connected && process.send(message);

/** A handler start: the job's add time travels in its payload; `first` marks jobs added before this worker spawned. */
function started(payload) {
  const at = wallNow();
  handled += 1;
  firstAt ??= at;
  if (payload && typeof payload.addedAt === 'number')
    send({ type: 'started', at, addedAt: payload.addedAt, first: payload.first === true });
}

// Counts go out in batches, so IPC costs nothing measurable during a drain.
const progress = setInterval(() => {
  if (handled !== reported) {
    reported = handled;
    send({ type: 'handled', count: handled, firstAt });
  }
}, 5);

async function startGraphile(batched) {
  const runner = await run({
    connectionString,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + 2,
    noHandleSignals: true,
    // Jobs due later are found by polling (NOTIFY wakes only for jobs due now): at the default 2 s a
    // drain's second process could join seconds late and the drain figure would count its wait.
    pollInterval: 100,
    taskList: { [QUEUE]: async (payload) => started(payload) },
    parsedCronItems: [],
    logger: undefined,
    preset: batched ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } : {},
  });
  return () => runner.stop();
}

async function startPgBoss() {
  const boss = new PgBoss({ connectionString, useListenNotify: true, max: 10 });
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  await boss.start();
  // pg-boss's smallest polling interval (0.5 s): how late a process may notice jobs that fell due.
  const polling = { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 };
  await boss.work(QUEUE, { batchSize: CONCURRENCY, burstWhenBatchFull: true, ...polling }, async (jobs) => {
    for (const job of jobs) started(job.data);
  });
  return () => boss.stop({ graceful: true, wait: true });
}

const stop = await (system === 'pg-boss' ? startPgBoss() : startGraphile(system === 'graphile-batched'));
let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(progress);
  await stop();
  send({ type: 'handled', count: handled });
  process.exit(0);
};
process.on('message', (message) => {
  if (message === 'stop') void shutdown();
  if (message === 'mark') firstAt = null;
});
process.on('SIGTERM', () => void shutdown());
process.on('disconnect', () => void shutdown());
send({ type: 'ready' });
