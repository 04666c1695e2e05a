import { randomUUID } from 'node:crypto';
import type { CreatedJob, Job, Stats } from '@simmer/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemoSource } from '../../src/images/demo/demo-source.js';
import { clientKeyOf } from '../../src/jobs/client-keys.js';
import { fakeImageSource, type FakeImageSource } from './fake-image-source.js';
import { buildTestApp, type TestApp } from './test-app.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('jobs API (in-process)', () => {
  let t: TestApp;
  const post = (headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url: '/jobs', headers });
  const getJson = async <T>(url: string) => (await t.app.inject({ url })).json<T>();
  const stats = () => getJson<Stats>('/stats');

  beforeAll(async () => {
    t = await buildTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('creates a pending job: 202, Location, a UUIDv7 id and a runAt on the delay grid', async () => {
    const response = await post();
    expect(response.statusCode).toBe(202);
    const job = response.json<Job>();
    expect(job.id).toMatch(UUID_V7);
    expect(response.headers.location).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({ status: 'pending', result: null, error: null, resolvedAt: null });
    expect(job.seq).toBe((await stats()).lastSeq);
    expect(Date.parse(job.createdAt)).toBe(t.clock.now());
    const delay = Date.parse(job.runAt) - Date.parse(job.createdAt);
    expect([1000, 2000, 3000]).toContain(delay);
    const { controlToken, ...view } = response.json<CreatedJob>();
    expect(controlToken.length).toBeGreaterThanOrEqual(16);
    expect(await getJson<Job>(`/jobs/${job.id}`)).toEqual(view);
  });

  it('accepts `{}` as a body, the same as no body', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/jobs', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(response.statusCode).toBe(202);
  });

  it('creates one job for many concurrent requests with one Idempotency-Key', async () => {
    const key = `press-${randomUUID()}`;
    const before = (await stats()).counts;
    const responses = await Promise.all(Array.from({ length: 25 }, () => post({ 'idempotency-key': key })));
    const jobs = responses.map((response) => response.json<Job>());
    expect(new Set(jobs.map((job) => job.id)).size).toBe(1);
    expect(responses.every((response) => response.statusCode === 202)).toBe(true);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === 'true')).toHaveLength(24);
    const after = (await stats()).counts;
    expect(after.pending + after.running + after.resolved - (before.pending + before.running + before.resolved)).toBe(1);
  });

  it('lists newest first, pages with a Link header, filters by status, and answers 304 to a matching ETag', async () => {
    for (let i = 0; i < 5; i++) await post();
    const first = await t.app.inject({ url: '/jobs?limit=2' });
    const page1 = first.json<Job[]>();
    expect(page1).toHaveLength(2);
    expect(page1[0]!.id > page1[1]!.id).toBe(true);
    const link = String(first.headers.link);
    expect(link).toMatch(/^<\/jobs\?limit=2&cursor=[0-9a-f-]{36}>; rel="next"$/);
    const page2 = await getJson<Job[]>(/<([^>]+)>/.exec(link)![1]!);
    expect(page2[0]!.id < page1[1]!.id).toBe(true);

    const etag = String(first.headers.etag);
    const again = await t.app.inject({ url: '/jobs?limit=2', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    await post();
    const changed = await t.app.inject({ url: '/jobs?limit=2', headers: { 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);

    const pending = await getJson<Job[]>('/jobs?status=pending&limit=1000');
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.every((job) => job.status === 'pending')).toBe(true);
    const all = await getJson<Job[]>('/jobs?limit=1000');
    expect(all.map((job) => job.id)).toEqual([...all.map((job) => job.id)].sort().reverse());
  });

  it('answers 409 to a download of a job that has not resolved', async () => {
    const job = (await post()).json<Job>();
    const response = await t.app.inject({ method: 'POST', url: `/jobs/${job.id}/download` });
    expect(response.statusCode).toBe(409);
    expect(response.json<{ detail: string }>().detail).toContain('pending');
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    const metrics = (await t.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/simmer_jobs\{status="pending"\} \d+/);
    expect(metrics).toMatch(/simmer_job_create_seconds_count \d+/);
    expect(metrics).toMatch(/simmer_job_run_lateness_seconds_count \d+/);
    const openapi = await getJson<{ paths: Record<string, unknown> }>('/docs/json');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/jobs',
        '/jobs/{id}',
        '/jobs/{id}/download',
        '/jobs/{id}/cancel',
        '/jobs/{id}/run',
        '/jobs/{id}/retry',
        '/events',
        '/stats',
      ]),
    );
    let docs = await t.app.inject({ url: '/docs' });
    if (docs.statusCode >= 300 && docs.statusCode < 400) docs = await t.app.inject({ url: String(docs.headers.location) });
    expect(docs.statusCode).toBe(200);
  });
});

describe('running jobs (in-process, manual clock)', () => {
  let t: TestApp;

  afterEach(async () => {
    await t?.close();
  });

  // That a job does not start before its runAt is the scheduler's unit test; here it just falls due.
  it('runs a due job and shows the photo in the list and by id', async () => {
    t = await buildTestApp({ runJobs: true, imageSource: createDemoSource() });
    const job = (await t.app.inject({ method: 'POST', url: '/jobs' })).json<Job>();
    t.advance(Date.parse(job.runAt) - t.clock.now());
    await t.settled(job.id);
    const settled = (await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>();
    expect(settled.status).toBe('resolved');
    // Each view names its latest change: pending, then running, then resolved, each a later one.
    expect(settled.seq).toBeGreaterThan(job.seq);
    expect((await t.app.inject({ url: '/stats' })).json<Stats>().lastSeq).toBe(settled.seq);
    expect(settled.result).toMatchObject({ source: 'demo', photo: { urls: { small: expect.stringMatching(/^\/demo-images\//) } } });
    expect(settled.result!.photo.blurHash).toMatch(/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,}$/);
    const image = await t.app.inject({ url: settled.result!.photo.urls.small });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toMatch(/^image\/svg\+xml/);
    const listed = (await t.app.inject({ url: '/jobs?status=resolved&limit=1000' })).json<Job[]>().find((c) => c.id === job.id);
    expect(listed).toEqual(settled);
    const download = await t.app.inject({ method: 'POST', url: `/jobs/${job.id}/download` });
    expect(download.statusCode).toBe(200);
    expect(download.json<{ url: string }>().url).toMatch(/^\/demo-images\//);
  });

  it('tracks a download of a resolved photo through its source and answers its url', async () => {
    const source = fakeImageSource('unsplash');
    t = await buildTestApp({ runJobs: true, imageSource: source });
    const job = (await t.app.inject({ method: 'POST', url: '/jobs' })).json<Job>();
    t.advance(3_000);
    const settled = await t.settled(job.id);
    const response = await t.app.inject({ method: 'POST', url: `/jobs/${job.id}/download` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ url: `${settled.result!.photo.urls.full}&dl=1` });
    expect(source.downloads.map((photo) => photo.id)).toEqual([settled.result!.photo.id]);
  });

  it('keeps who created a job as a key, not an address, shows it in no answer, and hands it to the image source', async () => {
    const source = fakeImageSource('unsplash');
    t = await buildTestApp({ runJobs: true, imageSource: source });
    const create = (remoteAddress: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: '/jobs', remoteAddress, headers });
    const keyOf = async (response: { json: <T>() => T }) => (await t.store.getJob(response.json<Job>().id))!.client;

    const first = await create('198.51.100.7', { 'idempotency-key': 'client-key-press' });
    const key = await keyOf(first);
    expect(key).toBe(clientKeyOf(t.store.tokenKey, '198.51.100.7'));
    expect(key).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(first.body).not.toContain(key);
    // One IPv6 /64 is one client; another address is another.
    const v6a = await keyOf(await create('2001:db8:1:2::5'));
    expect(await keyOf(await create('2001:db8:1:2:ffff::6'))).toBe(v6a);
    expect(new Set([key, v6a, await keyOf(await create('198.51.100.8'))]).size).toBe(3);
    // A replay from elsewhere is the original job, its client unchanged.
    const replay = await create('198.51.100.9', { 'idempotency-key': 'client-key-press' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<Job>().id).toBe(first.json<Job>().id);
    expect(await keyOf(replay)).toBe(key);

    t.advance(3_000);
    await t.settled(first.json<Job>().id);
    expect(source.takenFor).toContain(key);
    for (const url of ['/jobs?limit=1000', `/jobs/${first.json<Job>().id}`]) expect((await t.app.inject({ url })).body).not.toContain(key);
  });

  it('answers 502 when the source does not confirm a download, and 503 for a photo of another source', async () => {
    const source: FakeImageSource = fakeImageSource('unsplash');
    t = await buildTestApp({ runJobs: true, imageSource: source });
    const job = (await t.app.inject({ method: 'POST', url: '/jobs' })).json<Job>();
    t.advance(3_000);
    await t.settled(job.id);
    source.failDownloads = new Error('upstream said no');
    const failed = await t.app.inject({ method: 'POST', url: `/jobs/${job.id}/download` });
    expect(failed.statusCode).toBe(502);
    expect(failed.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(failed.body).not.toContain('upstream said no');

    // As after a restart without UNSPLASH_ACCESS_KEY: the photo's source is not one this process can reach.
    source.name = 'demo';
    const elsewhere = await t.app.inject({ method: 'POST', url: `/jobs/${job.id}/download` });
    expect(elsewhere.statusCode).toBe(503);
    expect(elsewhere.json<{ detail: string }>().detail).toContain('unsplash');
  });
});

describe('pending cap (in-process)', () => {
  it('admits no more than MAX_PENDING_JOBS from a burst whose creates are in flight together, and counts replays as nothing', async () => {
    const t = await buildTestApp({ env: { MAX_PENDING_JOBS: '5', JOB_DELAY_MIN_MS: '3600000', JOB_DELAY_MAX_MS: '3600000' } });
    try {
      // Replays of one key take no place: the cap still has room for four new jobs after them.
      const replays = await Promise.all(
        [1, 2, 3].map(() => t.app.inject({ method: 'POST', url: '/jobs', headers: { 'idempotency-key': 'k' } })),
      );
      expect(replays.map((r) => r.statusCode)).toEqual([202, 202, 202]);
      const burst = await Promise.all(Array.from({ length: 20 }, () => t.app.inject({ method: 'POST', url: '/jobs' })));
      expect(burst.filter((r) => r.statusCode === 202)).toHaveLength(4);
      expect(burst.filter((r) => r.statusCode === 503)).toHaveLength(16);
      expect((await t.store.countJobs()).pending).toBe(5);
    } finally {
      await t.close();
    }
  });
});
