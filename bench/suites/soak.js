// A steady load with retention on: 200 jobs/s, each resolved within seconds and removed after
// JOB_RETENTION_MS = 30 s, so the store's contents turn over while RSS and the data directory
// should level off. Prints both over time; after warm-up both stay flat (the mean of the last
// quarter of the run within 15 % of the second quarter's). BENCH_SOAK_S (120) sets the length,
// BENCH_SOAK_RATE (200) the jobs per second. All traffic stays on 127.0.0.1.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readRss } from '../lib/rss.js';
import { benchDataDir, startSimmer } from '../lib/simmer.js';

export const name = 'soak';
export const description = 'RSS and data-directory bytes under a steady create load with retention (BENCH_SOAK_S, default 120)';

const SAMPLE_MS = 5_000;

async function dataDirBytes(dir) {
  let total = 0;
  for (const file of await readdir(dir)) total += (await stat(join(dir, file)).catch(() => ({ size: 0 }))).size;
  return total;
}

function positive(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
}

const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const durationS = positive('BENCH_SOAK_S', 120);
  const rate = positive('BENCH_SOAK_RATE', 200);
  const dataDir = await benchDataDir(context);
  const server = await startSimmer(context, {
    dataDir,
    env: {
      JOB_RETENTION_MS: '30000',
      JOB_DELAY_MIN_MS: '1000',
      JOB_DELAY_MAX_MS: '5000',
      JOB_DELAY_STEP_MS: '1000',
    },
  });

  const samples = [];
  let sent = 0;
  let failed = 0;
  const inFlight = new Set();
  const started = performance.now();
  const end = started + durationS * 1000;
  context.log(`soak: ${rate} jobs/s for ${durationS} s`);

  // Paced by the clock, not by answers: 1/10 of a second's jobs every 100 ms, catching up if a tick is late.
  const tick = setInterval(() => {
    const due = Math.min(rate * durationS, Math.floor(((performance.now() - started) / 1000) * rate));
    while (sent < due && inFlight.size < 2_000) {
      sent++;
      const request = fetch(`${server.url}/jobs`, { method: 'POST' })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status !== 202) failed++;
        })
        .catch(() => failed++)
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
  }, 100);
  const sampler = setInterval(() => {
    // A /stats that fails or is refused (503 under load) loses only the count of this sample.
    const stats = fetch(`${server.url}/stats`)
      .then(async (response) => (response.ok ? (await response.json()).counts : null))
      .catch(() => null);
    void Promise.all([readRss(server.pid), dataDirBytes(dataDir), stats]).then(
      ([rss, bytes, counts]) => {
        const atS = Math.round((performance.now() - started) / 1000);
        // Jobs stored: flat once removals keep pace with creates; rising means the server fell behind.
        const jobs = counts ? counts.pending + counts.running + counts.resolved + counts.failed : null;
        samples.push({ atS, rss, bytes, jobs });
        context.log(
          `soak t=${atS}s rss=${(rss / 2 ** 20).toFixed(1)} MB dataDir=${(bytes / 2 ** 20).toFixed(2)} MB jobs=${jobs ?? '?'} (pending ${counts?.pending ?? '?'}) sent=${sent}`,
        );
      },
      (error) => context.log(`soak: a sample failed: ${error.message}`),
    );
  }, SAMPLE_MS);
  await new Promise((resolve) => setTimeout(resolve, end - performance.now()));
  clearInterval(tick);
  clearInterval(sampler);
  await Promise.all(inFlight);
  await server.stop();

  const quarter = (q) => samples.filter((s) => s.atS > (durationS * q) / 4 && s.atS <= (durationS * (q + 1)) / 4);
  const ratio = (key) => {
    const second = quarter(1)
      .map((s) => s[key])
      .filter((v) => v !== null);
    const last = quarter(3)
      .map((s) => s[key])
      .filter((v) => v !== null);
    return second.length && last.length ? mean(last) / mean(second) : null;
  };
  const mb = (bytes) => bytes / 2 ** 20;
  const lastQuarter = quarter(3);
  return {
    figures: [
      { key: 'jobsGrowth', label: 'jobs stored, last quarter ÷ second quarter', value: ratio('jobs'), unit: '×' },
      { key: 'jobsSent', label: `jobs created (${rate}/s for ${durationS} s), failed`, value: sent, unit: `(${failed} failed)` },
      {
        key: 'rssLastQuarterMb',
        label: 'RSS, mean of the last quarter',
        value: lastQuarter.length ? mb(mean(lastQuarter.map((s) => s.rss))) : null,
        unit: 'MB',
      },
      { key: 'rssGrowth', label: 'RSS, last quarter ÷ second quarter', value: ratio('rss'), unit: '×', target: { op: '<=', value: 1.15 } },
      {
        key: 'dataDirLastQuarterMb',
        label: 'data directory, mean of the last quarter',
        value: lastQuarter.length ? mb(mean(lastQuarter.map((s) => s.bytes))) : null,
        unit: 'MB',
      },
      {
        key: 'dataDirGrowth',
        label: 'data directory, last quarter ÷ second quarter',
        value: ratio('bytes'),
        unit: '×',
        target: { op: '<=', value: 1.15 },
      },
    ],
    extra: { samples, failed },
  };
}
