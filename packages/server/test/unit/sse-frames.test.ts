import { EVENT_JOB, EVENT_READY, EVENT_REMOVED, EVENT_RESET } from '@simmer/contracts';
import { describe, expect, it } from 'vitest';
import { changeFrame, FrameCache, readyFrame, resetFrame } from '../../src/http/events/sse-frames.js';
import type { Change, StoredJob } from '../../src/store/job-store.js';

const job = (id: string, seq: number): StoredJob => ({
  id,
  status: 'pending',
  createdAt: Date.UTC(2026, 11, 7, 12),
  runAt: Date.UTC(2026, 11, 7, 12, 0, 2),
  resolvedAt: null,
  result: null,
  error: null,
  idempotencyKey: 'secret-key',
  client: 'ck-secretclient0',
  updatedSeq: seq,
  claimToken: null,
  leaseUntil: null,
  attempts: 0,
  claimedAt: null,
  endedAttempts: [],
});
const jobChange = (seq: number): Change => ({
  kind: 'job',
  seq,
  job: job(`0193f000-0000-7000-8000-${String(seq).padStart(12, '0')}`, seq),
});

describe('SSE frames', () => {
  it('writes each event as the contract names it: id, event, and the job as the API shows it', () => {
    const change = jobChange(7);
    expect(String(changeFrame(change))).toBe(
      `id: 7\nevent: ${EVENT_JOB}\ndata: ${JSON.stringify({
        id: '0193f000-0000-7000-8000-000000000007',
        status: 'pending',
        createdAt: '2026-12-07T12:00:00.000Z',
        runAt: '2026-12-07T12:00:02.000Z',
        resolvedAt: null,
        result: null,
        error: null,
        attempts: [],
        seq: 7,
      })}\n\n`,
    );
    expect(String(changeFrame({ kind: 'removed', seq: 8, id: 'abc' }))).toBe(`id: 8\nevent: ${EVENT_REMOVED}\ndata: {"id":"abc"}\n\n`);
    expect(String(readyFrame(9))).toBe(`id: 9\nevent: ${EVENT_READY}\ndata: {"lastSeq":9}\n\n`);
    // A reset carries no id: the client keeps the last one it had.
    expect(String(resetFrame(9, 'too-many-changes'))).toBe(`event: ${EVENT_RESET}\ndata: {"lastSeq":9,"reason":"too-many-changes"}\n\n`);
  });

  it('serialises a live change once, and replays it from the same bytes while it is recent', () => {
    const cache = new FrameCache(10_000);
    const change = jobChange(1);
    const live = cache.liveFrame(change);
    expect(cache.liveFrame(change)).toBe(live);
    expect(cache.replayFrame(change)).toBe(live);
    // An old change read again for a replay is serialised for it, and not kept.
    const old = jobChange(0);
    const replayed = cache.replayFrame(old);
    expect(replayed).toEqual(changeFrame(old));
    expect(cache.replayFrame(old)).not.toBe(replayed);
  });

  it('keeps the most recent frames within its bytes, dropping the oldest first', () => {
    const size = changeFrame(jobChange(1)).length;
    const cache = new FrameCache(size * 3);
    const frames = [1, 2, 3, 4].map((seq) => cache.liveFrame(jobChange(seq)));
    expect(cache.replayFrame(jobChange(1))).not.toBe(frames[0]);
    for (const seq of [2, 3, 4]) expect(cache.replayFrame(jobChange(seq))).toBe(frames[seq - 1]);
  });
});
