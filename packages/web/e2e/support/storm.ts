import { Worker } from 'node:worker_threads';

export interface StormOptions {
  /** The server's base URL; loopback only. */
  url: string;
  /** Creates a second the storm aims at. */
  perSecond: number;
  durationMs: number;
  /** Requests in flight at most. */
  concurrency?: number;
}

export interface StormResult {
  created: number;
  /** Answers other than 202, and requests that failed outright. */
  failed: number;
  durationMs: number;
}

/**
 * Other people's jobs, fast: `POST /jobs` at a steady rate from a worker thread (its own event loop,
 * so the test's own work neither slows the storm nor is slowed by it). Bounded in count and time,
 * and it stops by itself.
 */
export function startStorm({ url, perSecond, durationMs, concurrency = 96 }: StormOptions): Promise<StormResult> {
  if (!/^http:\/\/127\.\d+\.\d+\.\d+:\d+$/.test(url)) throw new Error(`a storm goes to loopback only, not ${url}`);
  const worker = new Worker(STORM_SOURCE, { eval: true, workerData: { url, perSecond, durationMs, concurrency } });
  return new Promise<StormResult>((resolve, reject) => {
    worker.once('message', (result: StormResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the storm worker exited (${code}) without a result`)));
  });
}

// Plain JavaScript: a worker evaluates it as it is.
const STORM_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, perSecond, durationMs, concurrency } = workerData;
let created = 0, failed = 0, sent = 0, inFlight = 0;
const started = performance.now();
const total = Math.round((perSecond * durationMs) / 1000);
function post() {
  sent += 1;
  inFlight += 1;
  fetch(url + '/jobs', { method: 'POST' })
    .then(async (res) => {
      await res.arrayBuffer();
      if (res.status === 202) created += 1; else failed += 1;
    })
    .catch(() => { failed += 1; })
    .finally(() => { inFlight -= 1; });
}
function tick() {
  const elapsed = performance.now() - started;
  const due = Math.min(total, Math.floor((perSecond * Math.min(elapsed, durationMs)) / 1000));
  while (sent < due && inFlight < concurrency) post();
  if (sent < total && elapsed < durationMs + 5000) return setTimeout(tick, 2);
  const finish = () => {
    if (inFlight > 0) return setTimeout(finish, 10);
    parentPort.postMessage({ created, failed, durationMs: Math.round(performance.now() - started) });
  };
  finish();
}
tick();
`;
