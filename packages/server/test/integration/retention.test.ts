import { EVENT_JOB, EVENT_REMOVED, type Job } from '@simmer/contracts';
import { connectSse, type SseEvent } from '@simmer/testkit/sse-client';
import { describe, expect, it } from 'vitest';
import { serverPerSuite } from './server-per-suite.js';

const JOBS = 20;

interface Stats {
  counts: { pending: number; running: number; resolved: number; failed: number };
  lastSeq: number;
}

describe('retention (JOB_RETENTION_MS, IDEMPOTENCY_KEY_TTL_MS) through the real server', () => {
  const server = serverPerSuite({
    env: {
      JOB_DELAY_MIN_MS: '0',
      JOB_DELAY_MAX_MS: '0',
      JOB_RETENTION_MS: '1500',
      IDEMPOTENCY_KEY_TTL_MS: '1000',
      RATE_LIMIT_CREATES: '0',
    },
  });
  const stats = async () => (await (await fetch(`${server.url}/stats`)).json()) as Stats;
  const status = async (id: string) => (await fetch(`${server.url}/jobs/${id}`)).status;
  const post = (key?: string) => fetch(`${server.url}/jobs`, { method: 'POST', headers: key ? { 'idempotency-key': key } : {} });

  it('removes resolved jobs once retention passes: removed events live and on resume, 404s, empty lists and counts, also after kill -9', async () => {
    const before = (await stats()).lastSeq;
    const live: SseEvent[] = [];
    const stream = await connectSse(`${server.url}/events?after=${before}`, { onEvent: (event) => live.push(event) });
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i++) ids.push(((await (await post()).json()) as Job).id);

    const removedIds = (events: SseEvent[]) =>
      new Set(events.filter((event) => event.event === EVENT_REMOVED).map((event) => (JSON.parse(event.data) as { id: string }).id));
    await expect.poll(() => removedIds(live).size, { timeout: 20_000 }).toBe(JOBS);
    stream.close();
    expect(removedIds(live)).toEqual(new Set(ids));
    // Each job resolved before it was removed, and every removal has its own, later, sequence number.
    for (const id of ids) {
      const resolvedAt = live.findIndex(
        (e) => e.event === EVENT_JOB && (JSON.parse(e.data) as Job).id === id && (JSON.parse(e.data) as Job).status === 'resolved',
      );
      const removedAt = live.findIndex((e) => e.event === EVENT_REMOVED && e.data.includes(id));
      expect(resolvedAt).toBeGreaterThanOrEqual(0);
      expect(removedAt).toBeGreaterThan(resolvedAt);
    }
    const removalSeqs = live.filter((e) => e.event === EVENT_REMOVED).map((e) => Number(e.id));
    expect(new Set(removalSeqs).size).toBe(JOBS);

    for (const id of ids) expect(await status(id)).toBe(404);
    expect(await (await fetch(`${server.url}/jobs`)).json()).toEqual([]);
    expect((await stats()).counts).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 });

    // A client resuming from before the jobs existed hears of their removal.
    const resumed = await connectSse(`${server.url}/events`, { lastEventId: String(before) });
    const replay: SseEvent[] = [];
    for await (const event of resumed) {
      replay.push(event);
      if (removedIds(replay).size === JOBS) break;
    }
    resumed.close();
    expect(replay.filter((event) => event.event === EVENT_JOB)).toEqual([]);

    server.kill('SIGKILL');
    await server.waitForExit();
    await server.restart();
    for (const id of ids) expect(await status(id)).toBe(404);
    expect((await stats()).counts).toEqual({ pending: 0, running: 0, resolved: 0, failed: 0, cancelled: 0 });
  });

  it('stops returning a job for its idempotency key once the key is older than IDEMPOTENCY_KEY_TTL_MS', async () => {
    const first = await post('ttl-key');
    const firstId = ((await first.json()) as Job).id;
    const again = await post('ttl-key');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as Job).id).toBe(firstId);

    // Each try before expiry is a replay; the first after it creates a new job.
    await expect
      .poll(async () => (await post('ttl-key')).headers.get('idempotent-replayed'), { timeout: 10_000, interval: 200 })
      .toBeNull();
    const replayed = await post('ttl-key');
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replayed.json()) as Job).id).not.toBe(firstId);
  });
});
