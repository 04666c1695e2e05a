import { randomUUID } from 'node:crypto';
import type { Job, Stats } from '@simmer/contracts';
import { FAKE_FAULT_KINDS, startFakeUnsplash, type FakeUnsplash, type FakeUnsplashOptions } from '@simmer/testkit/fake-unsplash';
import { requestFrom } from '@simmer/testkit/loopback-client';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The real server process against the stand-in Unsplash: the Unsplash client code path end to end,
 * healthy, failing in every way the API fails, refusing the key, stalling, and out of quota.
 */

/** Short upstream timings, so retries, timeouts and quota pauses play out in seconds. */
const FAST_UPSTREAM = {
  UNSPLASH_TIMEOUT_MS: '300',
  UNSPLASH_RETRY_BASE_MS: '20',
  UNSPLASH_RETRY_MAX_MS: '200',
  UNSPLASH_QUOTA_WAIT_MS: '200',
};
const SHORT_DELAYS = { JOB_DELAY_MIN_MS: '500', JOB_DELAY_MAX_MS: '3000', JOB_DELAY_STEP_MS: '500' };

/** Every fake and server a test starts, stopped after it whatever the outcome. */
const running: (() => Promise<void>)[] = [];

afterEach(async () => {
  // Newest first (the server before its upstream); every one is stopped even if another fails to.
  const errors: unknown[] = [];
  for (const stop of running.splice(0).reverse()) await stop().catch((error: unknown) => errors.push(error));
  if (errors.length > 0) throw errors[0];
});

async function startUpstream(options: FakeUnsplashOptions = {}): Promise<FakeUnsplash> {
  const fake = await startFakeUnsplash({ accessKey: `simmer-test-key-${randomUUID()}`, ...options });
  running.push(() => fake.close());
  return fake;
}

async function startServer(fake: FakeUnsplash, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({
    env: { UNSPLASH_ACCESS_KEY: fake.accessKey, UNSPLASH_API_URL: fake.url, ...FAST_UPSTREAM, ...SHORT_DELAYS, ...env },
  });
  running.push(() => server.stop());
  return server;
}

async function getJson<T>(server: ServerProcess, path: string): Promise<T> {
  const response = await fetch(`${server.url}${path}`);
  expect(response.status, `GET ${path}`).toBe(200);
  return (await response.json()) as T;
}

const stats = (server: ServerProcess) => getJson<Stats>(server, '/stats');

/** POSTs `count` jobs from `clients` concurrent clients; resolves with the acknowledged jobs. */
async function createJobs(server: ServerProcess, count: number, clients = 64): Promise<Job[]> {
  const jobs: Job[] = [];
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const response = await fetch(`${server.url}/jobs`, { method: 'POST' });
      expect(response.status).toBe(202);
      jobs.push((await response.json()) as Job);
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, count) }, client));
  return jobs;
}

/** Every job, following the Link header page by page; also returns the raw bodies for scanning. */
async function listAllJobs(server: ServerProcess): Promise<{ jobs: Job[]; bodies: string[] }> {
  const jobs: Job[] = [];
  const bodies: string[] = [];
  for (let path: string | null = '/jobs?limit=1000'; path !== null;) {
    const response: Response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(200);
    const body = await response.text();
    bodies.push(body);
    jobs.push(...(JSON.parse(body) as Job[]));
    path = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
  }
  return { jobs, bodies };
}

/** Waits until every job the server holds is settled, `expected` of them in all. */
async function settled(server: ServerProcess, expected: { resolved: number; failed: number }, timeout = 30_000): Promise<void> {
  await expect
    .poll(async () => (await stats(server)).counts, { timeout, interval: 100 })
    .toEqual({ pending: 0, running: 0, cancelled: 0, ...expected });
}

const randomCalls = (fake: FakeUnsplash) => fake.calls.filter((call) => call.path.startsWith('/photos/random'));

/** One sample of a Prometheus metric; `undefined` when the series is absent. */
function sample(metricsText: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metricsText.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

async function metricsText(server: ServerProcess): Promise<string> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

function expectKeyNowhere(key: string, where: string, texts: readonly string[]): void {
  const leaks = texts.filter((text) => text.includes(key));
  expect(leaks, `${where} must not contain the access key`).toEqual([]);
}

describe('Unsplash upstream (real server process, stand-in Unsplash)', () => {
  it('resolves 1,000 jobs with distinct Unsplash photos for at most 40 calls to /photos/random', async () => {
    const fake = await startUpstream({ seed: 1 });
    // Nothing fails here, so the production timeout: on a loaded machine a short one would cut off answers already paid for.
    const server = await startServer(fake, { UNSPLASH_TIMEOUT_MS: '10000', RATE_LIMIT_CREATES: '0' });
    const started = performance.now();

    const created = await createJobs(server, 1000);
    expect(created).toHaveLength(1000);
    await settled(server, { resolved: 1000, failed: 0 });
    const elapsedMs = performance.now() - started;

    const { jobs } = await listAllJobs(server);
    expect(jobs).toHaveLength(1000);
    expect(jobs.filter((job) => job.status !== 'resolved' || job.result?.source !== 'unsplash')).toEqual([]);
    expect(new Set(jobs.map((job) => job.result?.photo.id)).size).toBe(1000);

    const calls = randomCalls(fake);
    console.info(`upstream cost: 1000 jobs resolved in ${Math.round(elapsedMs)} ms for ${calls.length} calls to /photos/random`);
    expect(calls.length).toBeLessThanOrEqual(40);
    expect(calls.every((call) => call.outcome === 200 && call.path === '/photos/random?query=food&count=30')).toBe(true);
    expect(
      calls.every((call) => call.headers.authorization === `Client-ID ${fake.accessKey}` && call.headers['accept-version'] === 'v1'),
    ).toBe(true);
  });

  it('resolves 1,000 jobs while 40 % of calls fail in every way, wasting no photo and making a bounded number of calls', async () => {
    const fake = await startUpstream({ seed: 2 });
    fake.setFaults({ rate: 0.4, kinds: FAKE_FAULT_KINDS });
    // Long enough that a loaded machine does not time out answers that did come, short enough that stalls cost little.
    const server = await startServer(fake, { UNSPLASH_TIMEOUT_MS: '1000', RATE_LIMIT_CREATES: '0' });
    const started = performance.now();

    await createJobs(server, 1000);
    await settled(server, { resolved: 1000, failed: 0 }, 60_000);
    const elapsedMs = performance.now() - started;

    const { jobs } = await listAllJobs(server);
    expect(new Set(jobs.map((job) => job.result?.photo.id)).size).toBe(1000);
    expect(jobs.every((job) => job.result?.source === 'unsplash')).toBe(true);

    const calls = randomCalls(fake);
    const metrics = await metricsText(server);
    const outcome = (name: string) => sample(metrics, 'simmer_unsplash_calls_total', { endpoint: 'random', outcome: name }) ?? 0;
    const ok = outcome('ok');
    const badJson = outcome('bad_response');
    const timedOut = outcome('timeout');
    const byOutcome = Object.fromEntries(
      [...new Set(calls.map((call) => String(call.outcome)))]
        .sort()
        .map((o) => [o, calls.filter((call) => String(call.outcome) === o).length]),
    );
    console.info(
      `upstream faults: 1000 jobs resolved in ${Math.round(elapsedMs)} ms; /photos/random calls: ${ok} successful of ${calls.length} ` +
        `(stand-in outcomes ${JSON.stringify(byOutcome)}; server saw ${badJson} bodies cut short, ${timedOut} timeouts)`,
    );

    // Every fault kind was actually served (a cut-short body is a 200 the server counts as bad_response).
    expect(Object.keys(byOutcome)).toEqual(expect.arrayContaining(['200', '403', '429', '500', 'reset', 'stall']));
    expect(badJson).toBeGreaterThan(0);
    const failed = calls.length - ok;
    expect(failed / calls.length).toBeGreaterThanOrEqual(0.25);
    // Batches the server used, and batches the stand-in delivered whole (paid for in quota): at most 40 either way.
    expect(ok).toBeLessThanOrEqual(40);
    expect((byOutcome['200'] ?? 0) - badJson).toBeLessThanOrEqual(40);
    expect(calls.length).toBeLessThanOrEqual(150);
    expectKeyNowhere(fake.accessKey, 'server logs', server.logs);
  });

  it('fails jobs with unsplash_unauthorized on a refused key, without retrying, and keeps serving', async () => {
    const fake = await startUpstream();
    const wrongKey = `simmer-wrong-key-${randomUUID()}`;
    const server = await startServer(fake, { UNSPLASH_ACCESS_KEY: wrongKey, JOB_DELAY_MIN_MS: '500', JOB_DELAY_MAX_MS: '1500' });

    const created = await createJobs(server, 6);
    await settled(server, { resolved: 0, failed: 6 }, 15_000);

    for (const job of created) {
      const failed = await getJson<Job>(server, `/jobs/${job.id}`);
      expect(failed).toMatchObject({ status: 'failed', result: null, error: { code: 'unsplash_unauthorized' } });
      expect(failed.error?.message).toBe("Unsplash refused the server's access key (401).");
      expect(failed.resolvedAt).not.toBeNull();
    }
    // One call at most per job (concurrent ones share a call): a refused key is not retried.
    const calls = randomCalls(fake);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThanOrEqual(created.length);
    expect(calls.every((call) => call.outcome === 401)).toBe(true);

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/jobs`, { method: 'POST' })).status).toBe(202);
    expectKeyNowhere(wrongKey, 'server logs', server.logs);
    expectKeyNowhere(wrongKey, 'GET /jobs', (await listAllJobs(server)).bodies);
  });

  it('fails jobs with retry_limit_exceeded within a bounded time when every call stalls, and resolves new ones once the upstream heals', async () => {
    const fake = await startUpstream();
    fake.setFaults({ rate: 1, kinds: ['stall'] });
    // Long enough that a busy host's lateness (in starting a job, in the abort) fits inside one more limit.
    const retryLimitMs = 5000;
    const server = await startServer(fake, {
      JOB_RETRY_LIMIT_MS: String(retryLimitMs),
      JOB_DELAY_MIN_MS: '500',
      JOB_DELAY_MAX_MS: '1000',
    });

    const stalled = await createJobs(server, 10);
    await settled(server, { resolved: 0, failed: 10 }, 30_000);
    const failedAfter: number[] = [];
    for (const job of stalled) {
      const failed = await getJson<Job>(server, `/jobs/${job.id}`);
      expect(failed.error?.code).toBe('retry_limit_exceeded');
      // A fixed sentence: what went wrong upstream is in the server's log only.
      expect(failed.error?.message).toBe('No photo could be had in time: Unsplash kept failing, so the job gave up.');
      // It ran at runAt and gave up once the retry limit had passed, not before and not at twice it.
      const failedAfterMs = Date.parse(failed.resolvedAt!) - Date.parse(failed.runAt);
      expect(failedAfterMs).toBeGreaterThanOrEqual(retryLimitMs - 50);
      expect(failedAfterMs).toBeLessThan(2 * retryLimitMs);
      failedAfter.push(failedAfterMs);
    }
    console.info(
      `upstream stalls: jobs failed ${Math.min(...failedAfter)}-${Math.max(...failedAfter)} ms after runAt (retry limit ${retryLimitMs} ms)`,
    );
    expect(randomCalls(fake).every((call) => call.outcome === 'stall')).toBe(true);
    expect(server.logs.some((line) => line.includes('did not answer within 300 ms'))).toBe(true);

    fake.setFaults({ rate: 0, kinds: [] });
    const healed = await createJobs(server, 10);
    await settled(server, { resolved: 10, failed: 10 }, 15_000);
    for (const job of healed) expect((await getJson<Job>(server, `/jobs/${job.id}`)).result?.source).toBe('unsplash');
  });

  it('tracks a download through download_location with the key, once per photo per client, and never shows the key in logs or responses', async () => {
    const fake = await startUpstream();
    const server = await startServer(fake, { LOG_LEVEL: 'trace', JOB_DELAY_MIN_MS: '500', JOB_DELAY_MAX_MS: '1000' });

    const [job] = await createJobs(server, 3);
    await settled(server, { resolved: 3, failed: 0 }, 15_000);
    const resolved = await getJson<Job>(server, `/jobs/${job!.id}`);
    const photo = resolved.result!.photo;
    expect(photo.downloadLocation).toMatch(new RegExp(`^${fake.url}/photos/${photo.id}/download\\?ixid=`));

    const response = await fetch(`${server.url}/jobs/${job!.id}/download`, { method: 'POST' });
    const body = await response.text();
    expect(response.status).toBe(200);
    const { url } = JSON.parse(body) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/images\/photo-/);

    const downloads = fake.calls.filter((call) => call.path.includes('/download'));
    expect(downloads).toHaveLength(1);
    expect(`${fake.url}${downloads[0]!.path}`).toBe(photo.downloadLocation);
    expect(downloads[0]!.headers.authorization).toBe(`Client-ID ${fake.accessKey}`);
    expect(downloads[0]!.outcome).toBe(200);

    // Nineteen more presses by the same client answer from the cache; another client's counts once more.
    for (let i = 0; i < 19; i++) {
      const again = await fetch(`${server.url}/jobs/${job!.id}/download`, { method: 'POST' });
      expect(again.status).toBe(200);
      expect(((await again.json()) as { url: string }).url).toBe(url);
    }
    expect(fake.calls.filter((call) => call.path.includes('/download'))).toHaveLength(1);
    const other = await requestFrom('127.0.0.2', `${server.url}/jobs/${job!.id}/download`, { method: 'POST' });
    expect(other.status).toBe(200);
    expect(fake.calls.filter((call) => call.path.includes('/download'))).toHaveLength(2);
    expect(await metricsText(server)).toMatch(/^simmer_downloads_from_cache_total 19$/m);

    const responses = [
      body,
      ...(await listAllJobs(server)).bodies,
      await (await fetch(`${server.url}/jobs/${job!.id}`)).text(),
      await (await fetch(`${server.url}/stats`)).text(),
      await metricsText(server),
    ];
    expectKeyNowhere(fake.accessKey, 'API responses', responses);
    expect(server.logs.length).toBeGreaterThan(0);
    expectKeyNowhere(fake.accessKey, 'server logs', server.logs);
  });

  it('waits the quota window instead of hammering when X-Ratelimit-Remaining is 0, then resolves once quota returns', async () => {
    const quotaWaitMs = 500;
    const fake = await startUpstream();
    fake.setQuota(0);
    const server = await startServer(fake, {
      UNSPLASH_QUOTA_WAIT_MS: String(quotaWaitMs),
      UNSPLASH_RETRY_BASE_MS: '10',
      UNSPLASH_RETRY_MAX_MS: '20',
      JOB_DELAY_MIN_MS: '500',
      JOB_DELAY_MAX_MS: '500',
    });

    await createJobs(server, 20);
    // Time each call's arrival over a window of several quota waits.
    const arrivals: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await fake.waitForCalls(i);
      arrivals.push(performance.now());
    }
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    console.info(`upstream quota: gaps between calls at X-Ratelimit-Remaining 0: ${gaps.map(Math.round).join(', ')} ms`);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(quotaWaitMs * 0.9);
    expect(randomCalls(fake).every((call) => call.outcome === 403)).toBe(true);
    expect((await stats(server)).counts).toMatchObject({ resolved: 0, failed: 0 });

    const whileOut = await metricsText(server);
    expect(sample(whileOut, 'simmer_unsplash_quota_remaining')).toBe(0);
    expect(sample(whileOut, 'simmer_unsplash_calls_total', { endpoint: 'random', outcome: 'rate_limited' })).toBeGreaterThanOrEqual(5);

    fake.setQuota(5000);
    await settled(server, { resolved: 20, failed: 0 }, 15_000);
    const after = await metricsText(server);
    const ok = sample(after, 'simmer_unsplash_calls_total', { endpoint: 'random', outcome: 'ok' }) ?? 0;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'simmer_unsplash_quota_remaining')).toBe(5000 - ok);
    expect(randomCalls(fake).filter((call) => call.outcome === 200)).toHaveLength(ok);
  });
});
