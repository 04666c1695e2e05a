// Load generation: autocannon for throughput, and a small sampler for exact latency percentiles
// (autocannon's histogram has 1 ms resolution, too coarse to compare two fast p99s).
import http from 'node:http';
import autocannon from 'autocannon';

/**
 * Runs autocannon and returns its figures; throws when any answer was not 2xx, since a benchmark
 * of errors measures nothing.
 * @param {import('autocannon').Options} options
 */
export async function fire(options) {
  const result = await autocannon({ ...options });
  const ok = result['2xx'];
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) {
    throw new Error(
      `${options.method ?? 'GET'} ${options.url}: ${failed} of ${ok + failed} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
    );
  }
  return {
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: ok,
  };
}

/** Creates `count` jobs with `connections` concurrent POST /jobs. */
export async function createJobs(baseUrl, count, connections = 50) {
  if (count <= 0) return;
  await fire({
    url: `${baseUrl}/jobs`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    connections,
    amount: count,
    timeout: 30,
  });
}

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Sends GET `url` from `connections` keep-alive loops for `durationS` and returns every
 * latency in ms, with sub-millisecond precision.
 */
export async function sampleLatency(url, { connections = 10, durationS = 10 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let failures = 0;
  const until = performance.now() + durationS * 1000;
  const once = () =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(performance.now() - started);
            else failures += 1;
            resolve();
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });
  const loop = async () => {
    while (performance.now() < until) await once();
  };
  try {
    await Promise.all(Array.from({ length: connections }, loop));
  } finally {
    agent.destroy();
  }
  if (failures > 0) throw new Error(`GET ${url}: ${failures} answers were not 200`);
  return latencies;
}

/** Percentiles of latencies in ms, from one or more samples. */
export function summarizeLatency(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1),
  };
}

/** The median of the finite values (the mean of the middle two for an even count), or null if none. */
export function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
