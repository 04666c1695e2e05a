import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { FAKE_FAULT_KINDS, type FakeFaultKind, type FakeUnsplash, startFakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientShareSpentError,
  ImageSourceBusyError,
  PermanentImageError,
  TransientImageError,
  type ImageSource,
} from '../../src/images/image-source.js';
import { createUnsplashSource, type UnsplashSourceOptions } from '../../src/images/unsplash/unsplash-source.js';
import { createMetrics } from '../../src/metrics.js';

const KEY = 'sk-test-7f3a91c2e5b84d06';

let fake: FakeUnsplash;
const sources: ImageSource[] = [];

beforeEach(async () => {
  fake = await startFakeUnsplash({ accessKey: KEY, seed: 7 });
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await fake.close();
});

/** A source against the fake with fast timeouts and backoff, its log lines and its metrics. */
function makeSource(overrides: Partial<UnsplashSourceOptions> = {}) {
  const logLines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const metrics = createMetrics();
  const source = createUnsplashSource({
    accessKey: KEY,
    apiUrl: fake.url,
    timeoutMs: 300,
    logger: pino({ level: 'trace' }, stream),
    metrics,
    retry: { baseMs: 5, maxMs: 20 },
    quotaWaitMs: 50,
    clientSharePercent: 10,
    ...overrides,
  });
  sources.push(source);
  return { source, logLines, metrics };
}

const soon = (): AbortSignal => AbortSignal.timeout(8_000);

async function callsByOutcome(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const metric = await metrics.unsplashCalls.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.endpoint}:${v.labels.outcome}`, v.value]));
}

describe('Unsplash source: requests and mapping', () => {
  it('asks for 30 food photos with the documented headers', async () => {
    const { source } = makeSource();
    await source.takePhoto(soon(), null);
    expect(fake.calls).toHaveLength(1);
    const call = fake.calls[0];
    expect(call?.path).toBe('/photos/random?query=food&count=30');
    expect(call?.headers.authorization).toBe(`Client-ID ${KEY}`);
    expect(call?.headers['accept-version']).toBe('v1');
  });

  it('maps a photo with referral links, author and download location', async () => {
    const { source } = makeSource();
    const photo = await source.takePhoto(soon(), null);
    expect(photo.id).toMatch(/^[\w-]{11}$/);
    expect(photo.width).toBeGreaterThan(0);
    expect(photo.urls.small).toMatch(/w=400/);
    expect(new URL(photo.link).searchParams.get('utm_source')).toBe('simmer');
    expect(new URL(photo.link).searchParams.get('utm_medium')).toBe('referral');
    expect(new URL(photo.author.url).searchParams.get('utm_source')).toBe('simmer');
    expect(photo.author.name).not.toBe('');
    expect(photo.downloadLocation).toMatch(new RegExp(`^${fake.url}/photos/${photo.id}/download\\?ixid=`));
  });

  it('makes no call while idle, and none for a take that leaves the pool well stocked', async () => {
    const { source } = makeSource();
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.calls).toHaveLength(0);
    await source.takePhoto(soon(), null);
    await new Promise((resolve) => setImmediate(resolve));
    expect(fake.calls).toHaveLength(1);
  });

  it('shares one batch fetch among concurrent callers: 100 takes cost at most 4 calls', async () => {
    const { source } = makeSource();
    const photos = await Promise.all(Array.from({ length: 100 }, () => source.takePhoto(soon(), null)));
    expect(new Set(photos.map((p) => p.id)).size).toBe(100);
    expect(fake.calls.length).toBeLessThanOrEqual(4);
  });

  it('refills ahead when the pool runs low, before a caller has to wait', async () => {
    const { source } = makeSource();
    for (let i = 0; i < 28; i++) await source.takePhoto(soon(), null);
    await fake.waitForCalls(2);
    expect(fake.calls).toHaveLength(2);
  });
});

describe('Unsplash source: faults', () => {
  const outcomeOf: Record<FakeFaultKind, string> = {
    '500': 'server_error',
    '403-quota': 'rate_limited',
    '429': 'rate_limited',
    reset: 'network_error',
    stall: 'timeout',
    'bad-json': 'bad_response',
  };

  it.each(FAKE_FAULT_KINDS)('retries after %s faults and recovers', async (kind) => {
    const { source, metrics } = makeSource();
    fake.setFaults({ rate: 1, kinds: [kind], count: 2 });
    const photo = await source.takePhoto(soon(), null);
    expect(photo.id).toBeTruthy();
    expect(fake.calls).toHaveLength(3);
    expect(await callsByOutcome(metrics)).toEqual({ [`random:${outcomeOf[kind]}`]: 2, 'random:ok': 1 });
  });

  it('recovers from a mix of random faults', async () => {
    const { source } = makeSource();
    fake.setFaults({ rate: 0.5, kinds: FAKE_FAULT_KINDS.filter((k) => k !== 'stall') });
    const photos = await Promise.all(Array.from({ length: 90 }, () => source.takePhoto(soon(), null)));
    expect(new Set(photos.map((p) => p.id)).size).toBe(90);
  });

  it('rejects with PermanentImageError unsplash_unauthorized on a bad key, without retrying', async () => {
    const { source } = makeSource({ accessKey: 'not-the-key' });
    const error = await source.takePhoto(soon(), null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentImageError);
    expect((error as PermanentImageError).code).toBe('unsplash_unauthorized');
    expect((error as Error).message).toContain('OAuth error');
    expect(fake.calls).toHaveLength(1);
  });

  it('ends the wait when the caller aborts, rejecting with the last transient error', async () => {
    const { source } = makeSource();
    fake.setFaults({ rate: 1, kinds: ['500'] });
    const controller = new AbortController();
    const taking = source.takePhoto(controller.signal, null).catch((e: unknown) => e);
    await fake.waitForCalls(2);
    controller.abort(new Error('retry time is up'));
    const error = await taking;
    expect(error).toBeInstanceOf(TransientImageError);
    expect((error as TransientImageError).code).toBe('unsplash_server_error');
  });

  it('ends a wait on a stalled call as soon as the caller aborts', async () => {
    const { source } = makeSource({ timeoutMs: 60_000 });
    fake.setFaults({ rate: 1, kinds: ['stall'] });
    const controller = new AbortController();
    const taking = source.takePhoto(controller.signal, null).catch((e: unknown) => e);
    await fake.waitForCalls(1);
    const reason = new Error('retry time is up');
    controller.abort(reason);
    const error = await taking;
    expect(error).toBeInstanceOf(TransientImageError);
    expect((error as TransientImageError).code).toBe('unsplash_no_answer');
    expect((error as Error).cause).toBe(reason);
  });

  it('closes while a call is stalled without leaving anything behind', async () => {
    const { source } = makeSource({ timeoutMs: 60_000 });
    fake.setFaults({ rate: 1, kinds: ['stall'] });
    const taking = source.takePhoto(soon(), null).catch((e: unknown) => e);
    await fake.waitForCalls(1);
    await source.close();
    expect(await taking).toBeInstanceOf(TransientImageError);
  });
});

describe('Unsplash source: quota', () => {
  it('records X-Ratelimit-Remaining in the quota gauge', async () => {
    const { source, metrics } = makeSource();
    fake.setQuota(41);
    await source.takePhoto(soon(), null);
    expect((await metrics.unsplashQuotaRemaining.get()).values[0]?.value).toBe(40);
  });

  it('makes no further call while X-Ratelimit-Remaining is 0 and the quota wait runs', async () => {
    const { source } = makeSource({ quotaWaitMs: 60_000 });
    fake.setQuota(1);
    for (let i = 0; i < 30; i++) await source.takePhoto(soon(), null);
    const error = await source.takePhoto(AbortSignal.timeout(300), null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientImageError);
    expect(fake.calls).toHaveLength(1);
  });

  it('calls again once the quota wait has passed', async () => {
    const { source } = makeSource({ quotaWaitMs: 100 });
    fake.setQuota(1);
    for (let i = 0; i < 30; i++) await source.takePhoto(soon(), null);
    fake.setQuota(10);
    const started = Date.now();
    await source.takePhoto(soon(), null);
    expect(fake.calls).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('waits for the quota after a 403 "Rate Limit Exceeded" instead of calling again', async () => {
    const { source, logLines } = makeSource({ quotaWaitMs: 60_000 });
    fake.setQuota(0);
    const error = await source.takePhoto(AbortSignal.timeout(300), null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientImageError);
    expect((error as TransientImageError).code).toBe('unsplash_rate_limited');
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]?.outcome).toBe(403);
    expect(logLines.join('')).toContain('quota exhausted');
  });
});

describe('Unsplash source: downloads', () => {
  const downloadCalls = () => fake.calls.filter((call) => call.path.includes('/download'));

  it('triggers the download location with the key and its query string, and returns the file url', async () => {
    const { source } = makeSource();
    const photo = await source.takePhoto(soon(), null);
    const url = await source.trackDownload(photo, '127.0.0.2', soon());
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/images\/photo-/);
    const call = fake.calls.at(-1);
    expect(call?.path).toBe(new URL(photo.downloadLocation ?? '').pathname + new URL(photo.downloadLocation ?? '').search);
    expect(call?.headers.authorization).toBe(`Client-ID ${KEY}`);
  });

  it('tracks one download per photo per client: twenty presses cost one call, another client one more', async () => {
    const { source, metrics } = makeSource();
    const photo = await source.takePhoto(soon(), null);
    // Ten at once (sharing the call in flight), then ten after it.
    const first = await Promise.all(Array.from({ length: 10 }, () => source.trackDownload(photo, '127.0.0.2', soon())));
    const later = [];
    for (let i = 0; i < 10; i++) later.push(await source.trackDownload(photo, '127.0.0.2', soon()));
    expect(new Set([...first, ...later]).size).toBe(1);
    expect(downloadCalls()).toHaveLength(1);
    expect((await metrics.downloadsFromCache.get()).values[0]?.value).toBe(19);

    await source.trackDownload(photo, '127.0.0.3', soon());
    expect(downloadCalls()).toHaveLength(2);
  });

  it('does not retry a failed download, and does not remember it: the next press calls again', async () => {
    const { source } = makeSource();
    const photo = await source.takePhoto(soon(), null);
    fake.setFaults({ rate: 1, kinds: ['500'], count: 1 });
    await expect(source.trackDownload(photo, '127.0.0.2', soon())).rejects.toBeInstanceOf(TransientImageError);
    expect(downloadCalls()).toHaveLength(1);
    await expect(source.trackDownload(photo, '127.0.0.2', soon())).resolves.toMatch(/^http/);
    expect(downloadCalls()).toHaveLength(2);
  });

  it('refuses downloads past its own budget (busy, with a wait), without calling Unsplash', async () => {
    const { source } = makeSource();
    const photo = await source.takePhoto(soon(), null);
    for (let client = 0; client < 10; client++) await source.trackDownload(photo, `10.0.0.${client}`, soon());
    const error = await source.trackDownload(photo, '10.0.0.99', soon()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageSourceBusyError);
    expect((error as ImageSourceBusyError).retryAfterMs).toBeGreaterThan(0);
    expect(downloadCalls()).toHaveLength(10);
  });

  it('gives each client a share of the budget: a greedy client is refused (429) and leaves the others their tracking', async () => {
    const { source } = makeSource();
    const photos = [];
    for (let i = 0; i < 14; i++) photos.push(await source.takePhoto(soon(), null));
    const greedy = await Promise.all(photos.map((photo) => source.trackDownload(photo, '127.0.0.2', soon()).catch((e: unknown) => e)));
    expect(greedy.filter((outcome) => typeof outcome === 'string')).toHaveLength(3);
    const refused = greedy.filter((outcome) => typeof outcome !== 'string');
    expect(refused).toHaveLength(11);
    for (const error of refused) {
      expect(error).toBeInstanceOf(ClientShareSpentError);
      expect((error as ClientShareSpentError).retryAfterMs).toBeGreaterThan(0);
    }
    // Two other clients still have theirs.
    await expect(source.trackDownload(photos[0]!, '127.0.0.3', soon())).resolves.toMatch(/^http/);
    await expect(source.trackDownload(photos[1]!, '127.0.0.4', soon())).resolves.toMatch(/^http/);
    expect(downloadCalls()).toHaveLength(5);
  });

  it('on a rate-limited download pauses tracking only: photos for jobs keep coming', async () => {
    const { source } = makeSource({ quotaWaitMs: 60_000 });
    const photo = await source.takePhoto(soon(), null);
    fake.setFaults({ rate: 1, kinds: ['429'], count: 1 });
    await expect(source.trackDownload(photo, '127.0.0.2', soon())).rejects.toBeInstanceOf(ImageSourceBusyError);
    await expect(source.trackDownload(photo, '127.0.0.3', soon())).rejects.toBeInstanceOf(ImageSourceBusyError);
    expect(downloadCalls()).toHaveLength(1);
    // Past the pool of 30, taking photos needs new calls: they are made at once, not after the minute.
    const randomBefore = fake.calls.length - downloadCalls().length;
    for (let i = 0; i < 40; i++) await source.takePhoto(soon(), null);
    expect(fake.calls.length - downloadCalls().length).toBeGreaterThan(randomBefore);
  });

  it('refuses a photo without a download location as not_downloadable', async () => {
    const { source } = makeSource();
    const photo = { ...(await source.takePhoto(soon(), null)), downloadLocation: null };
    await expect(source.trackDownload(photo, '127.0.0.2', soon())).rejects.toMatchObject({
      name: 'PermanentImageError',
      code: 'not_downloadable',
    });
  });

  it('never sends the key to a download location on another host', async () => {
    const { source } = makeSource();
    const photo = { ...(await source.takePhoto(soon(), null)), downloadLocation: 'http://127.0.0.2:9/photos/x/download' };
    await expect(source.trackDownload(photo, '127.0.0.2', soon())).rejects.toMatchObject({ code: 'not_downloadable' });
    expect(fake.calls).toHaveLength(1);
  });
});

describe('Unsplash source: secrecy', () => {
  it('never writes the access key to the log or into an error, whatever goes wrong', async () => {
    const { source, logLines } = makeSource();
    fake.setFaults({ rate: 1, kinds: ['500', '429', '403-quota', 'reset', 'bad-json'], count: 6 });
    const photo = await source.takePhoto(soon(), null);
    await source.trackDownload(photo, '127.0.0.2', soon()).catch(() => undefined);
    const bad = makeSource({ accessKey: `${KEY}-wrong` });
    const error = await bad.source.takePhoto(soon(), null).catch((e: unknown) => e);
    expect(logLines.length).toBeGreaterThan(3);
    expect([...logLines, ...bad.logLines].join('\n')).not.toContain(KEY);
    expect(String((error as Error).message)).not.toContain(KEY);
  });
});

describe('Unsplash source: malformed answers', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function serve(status: number, body: string, type = 'application/json'): Promise<string> {
    server = createServer((_req, res) => res.writeHead(status, { 'Content-Type': type }).end(body));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    return `http://127.0.0.1:${address.port}`;
  }

  const goodPhoto = {
    id: 'abc123',
    width: 4000,
    height: 3000,
    color: '#a0522d',
    blur_hash: 'LHLnVT}ooc=v}ps-j@oKocj@a|fQ',
    description: null,
    alt_description: 'a bowl of soup',
    urls: {
      raw: 'https://i.test/a',
      full: 'https://i.test/b',
      regular: 'https://i.test/c',
      small: 'https://i.test/d',
      thumb: 'https://i.test/e',
    },
    links: { html: 'https://unsplash.com/photos/abc123', download_location: 'https://api.unsplash.com/photos/abc123/download?ixid=x' },
    user: { name: 'Ann Cook', links: { html: 'https://unsplash.com/@ann' } },
  };

  it('skips malformed photos in a batch and keeps the good ones', async () => {
    const apiUrl = await serve(200, JSON.stringify([{ id: 'broken' }, null, 42, goodPhoto]));
    const { source } = makeSource({ apiUrl });
    const photo = await source.takePhoto(soon(), null);
    expect(photo).toMatchObject({ id: 'abc123', description: 'a bowl of soup', blurHash: goodPhoto.blur_hash });
  });

  it('rejects a well-formed answer of the wrong shape as unsplash_bad_response', async () => {
    const apiUrl = await serve(200, JSON.stringify({ photos: [goodPhoto] }));
    const { source } = makeSource({ apiUrl });
    await expect(source.takePhoto(soon(), null)).rejects.toMatchObject({ name: 'PermanentImageError', code: 'unsplash_bad_response' });
  });

  it('rejects other 4xx answers as permanent, quoting a plain-text body without crashing', async () => {
    const apiUrl = await serve(404, '<html>not here</html>', 'text/html');
    const { source } = makeSource({ apiUrl });
    await expect(source.takePhoto(soon(), null)).rejects.toMatchObject({ name: 'PermanentImageError', code: 'unsplash_not_found' });
  });
});

describe('Unsplash source: per-client shares of the photo supply', () => {
  /** The stand-in with an hourly limit of 10 calls (300 photos): 10 % of it is 30 photos per client. */
  async function smallQuota(): Promise<void> {
    await fake.close();
    fake = await startFakeUnsplash({ accessKey: KEY, seed: 7, quota: 10 });
  }

  /** Photos `client` gets, one job after another, before its first refusal (at most `count`), and that refusal. */
  async function takeUntilRefused(source: ImageSource, client: string | null, count: number) {
    for (let taken = 0; taken < count; taken++) {
      const outcome = await source.takePhoto(soon(), client).catch((error: unknown) => error);
      if (outcome instanceof Error) return { taken, refusal: outcome };
    }
    return { taken: count, refusal: null };
  }

  it('while the quota is short, fails a greedy client past its share with photo_share_spent and serves the others', async () => {
    await smallQuota();
    fake.setQuota(4); // under half of the limit from the first answer on
    const { source, metrics } = makeSource();
    const greedy = await takeUntilRefused(source, 'greedy-client-00', 100);
    expect(greedy.taken).toBe(30);
    expect(greedy.refusal).toBeInstanceOf(PermanentImageError);
    expect(greedy.refusal).toMatchObject({ code: 'photo_share_spent' });
    expect((await metrics.photoShareRefusals.get()).values[0]?.value).toBe(1);
    // Refused at once, without a call: the next job of that client too.
    const calls = fake.calls.length;
    await expect(source.takePhoto(soon(), 'greedy-client-00')).rejects.toMatchObject({ code: 'photo_share_spent' });
    expect(fake.calls.length).toBe(calls);

    expect((await takeUntilRefused(source, 'other-client-000', 5)).taken).toBe(5);
    // Jobs from before clients were kept are never refused.
    expect((await takeUntilRefused(source, null, 5)).taken).toBe(5);
  });

  it('refuses no one while the quota is plenty, however many photos one client takes', async () => {
    await smallQuota();
    const { source, metrics } = makeSource();
    const greedy = await takeUntilRefused(source, 'greedy-client-00', 45);
    expect(greedy).toEqual({ taken: 45, refusal: null });
    expect(fake.calls.length).toBeLessThanOrEqual(3);
    expect((await metrics.photoShareRefusals.get()).values[0]?.value ?? 0).toBe(0);
  });
});
