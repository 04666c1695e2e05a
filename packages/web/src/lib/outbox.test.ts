import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox, type OutboxEntry, type SendOutcome } from './outbox';

class MemoryStorage {
  readonly data = new Map<string, string>();
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

function setup(send: (entry: OutboxEntry) => Promise<SendOutcome<string>>, storage = new MemoryStorage(), keyPrefix = 'key') {
  let online = true;
  const onlineListeners = new Set<(online: boolean) => void>();
  const sent: string[] = [];
  const rejected: string[] = [];
  let n = 0;
  const outbox = new Outbox<string>({
    storage,
    send,
    onSent: (entry) => sent.push(entry.key),
    onRejected: (entry) => rejected.push(entry.key),
    isOnline: () => online,
    subscribeOnline: (listener) => {
      onlineListeners.add(listener);
      return () => onlineListeners.delete(listener);
    },
    newKey: () => `${keyPrefix}-${++n}`,
    random: () => 0.5,
  });
  const setOnline = (value: boolean) => {
    online = value;
    for (const listener of onlineListeners) listener(value);
  };
  return { outbox, storage, sent, rejected, setOnline };
}

describe('Outbox', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stores a press before sending it and removes it only after the server acknowledged it', async () => {
    let release: (outcome: SendOutcome<string>) => void = () => {};
    const { outbox, storage, sent } = setup(() => new Promise((resolve) => (release = resolve)));
    outbox.start();
    const entry = outbox.enqueue();
    expect(JSON.parse(storage.getItem('simmer.outbox.v1')!)).toMatchObject([{ key: entry.key }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(outbox.getSnapshot().sendingKey).toBe(entry.key);
    release({ kind: 'sent', value: 'job-1' });
    await vi.runAllTimersAsync();
    expect(sent).toEqual([entry.key]);
    expect(JSON.parse(storage.getItem('simmer.outbox.v1')!)).toEqual([]);
  });

  it("names this tab's latest press, and not a press another tab made in the shared storage", async () => {
    const storage = new MemoryStorage();
    const here = setup(() => new Promise(() => undefined), storage, 'here');
    const there = setup(() => new Promise(() => undefined), storage, 'there');
    const pressed = here.outbox.enqueue();
    expect(here.outbox.getSnapshot().pressedKey).toBe(pressed.key);
    there.outbox.reload();
    expect(there.outbox.getSnapshot().entries.map((entry) => entry.key)).toEqual([pressed.key]);
    expect(there.outbox.getSnapshot().pressedKey).toBeNull();
  });

  it('retries a failed send with the same idempotency key, backing off', async () => {
    const keys: string[] = [];
    let failures = 3;
    const { outbox, sent } = setup(async (entry) => {
      keys.push(entry.key);
      return failures-- > 0 ? { kind: 'retry', error: new Error('reset') } : { kind: 'sent', value: 'job' };
    });
    outbox.start();
    outbox.enqueue();
    await vi.advanceTimersByTimeAsync(0);
    expect(keys).toHaveLength(1);
    // Full jitter with random 0.5: 1 s, 2 s, 4 s windows → waits of 1 s, 2 s, 4 s... halved.
    await vi.advanceTimersByTimeAsync(999);
    expect(keys).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(keys).toHaveLength(2);
    await vi.runAllTimersAsync();
    expect(new Set(keys)).toEqual(new Set(['key-1']));
    expect(keys).toHaveLength(4);
    expect(sent).toEqual(['key-1']);
    expect(outbox.getSnapshot().entries).toEqual([]);
  });

  it('drops a request the server calls bad, and goes on with the next', async () => {
    const { outbox, sent, rejected } = setup(async (entry) =>
      entry.key === 'key-1' ? { kind: 'rejected', error: new Error('400') } : { kind: 'sent', value: 'ok' },
    );
    outbox.start();
    outbox.enqueue();
    outbox.enqueue();
    await vi.runAllTimersAsync();
    expect(rejected).toEqual(['key-1']);
    expect(sent).toEqual(['key-2']);
  });

  it('holds presses while offline and sends each exactly once, in order, when the connection returns', async () => {
    const calls: string[] = [];
    const { outbox, sent, setOnline } = setup(async (entry) => {
      calls.push(entry.key);
      return { kind: 'sent', value: entry.key };
    });
    outbox.start();
    setOnline(false);
    outbox.enqueue();
    outbox.enqueue();
    outbox.enqueue();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual([]);
    expect(outbox.getSnapshot().entries).toHaveLength(3);
    setOnline(true);
    await vi.runAllTimersAsync();
    expect(calls).toEqual(['key-1', 'key-2', 'key-3']);
    expect(sent).toEqual(['key-1', 'key-2', 'key-3']);
  });

  it('sends what an earlier page load left behind', async () => {
    const storage = new MemoryStorage();
    storage.setItem(
      'simmer.outbox.v1',
      JSON.stringify([{ key: 'from-before', createdAt: '2026-01-01T00:00:00Z', attempts: 2, lastError: 'x' }]),
    );
    const { outbox, sent } = setup(async () => ({ kind: 'sent', value: 'job' }), storage);
    expect(outbox.getSnapshot().entries).toHaveLength(1);
    outbox.start();
    await vi.runAllTimersAsync();
    expect(sent).toEqual(['from-before']);
  });

  it('keeps one request in flight at a time, so a recovering server sees no burst', async () => {
    let inFlight = 0;
    let most = 0;
    const { outbox } = setup(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight--;
      return { kind: 'sent', value: 'job' };
    });
    outbox.start();
    for (let i = 0; i < 20; i++) outbox.enqueue();
    await vi.runAllTimersAsync();
    expect(most).toBe(1);
    expect(outbox.getSnapshot().entries).toEqual([]);
  });

  it('waits as Retry-After says when the server is busy, keeps new presses queued meanwhile, and sends each press once', async () => {
    const calls: string[] = [];
    let refuse = true;
    const { outbox, sent } = setup(async (entry) => {
      calls.push(entry.key);
      if (refuse) return { kind: 'retry', error: new Error('429'), retryAfterMs: 30_000 };
      return { kind: 'sent', value: entry.key };
    });
    outbox.start();
    outbox.enqueue();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['key-1']);
    const busyUntil = outbox.getSnapshot().busyUntil;
    expect(busyUntil).not.toBeNull();
    // Presses during the wait neither cut it short nor go out on their own.
    outbox.enqueue();
    outbox.enqueue();
    await vi.advanceTimersByTimeAsync(29_000);
    expect(calls).toEqual(['key-1']);
    expect(outbox.getSnapshot().entries.map((e) => e.key)).toEqual(['key-1', 'key-2', 'key-3']);
    expect(outbox.getSnapshot().entries[0]!.busyUntil).toBe(busyUntil);

    refuse = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sent).toEqual(['key-1', 'key-2', 'key-3']);
    expect(calls).toEqual(['key-1', 'key-1', 'key-2', 'key-3']);
    expect(outbox.getSnapshot()).toMatchObject({ entries: [], busyUntil: null });
  });

  it('keeps waiting as the server asked after a reload', async () => {
    const storage = new MemoryStorage();
    const first = setup(async () => ({ kind: 'retry', error: new Error('503'), retryAfterMs: 60_000 }), storage);
    first.outbox.start();
    first.outbox.enqueue();
    await vi.advanceTimersByTimeAsync(0);
    first.outbox.stop();

    const calls: string[] = [];
    const second = setup(async (entry) => {
      calls.push(entry.key);
      return { kind: 'sent', value: entry.key };
    }, storage);
    expect(second.outbox.getSnapshot().busyUntil).not.toBeNull();
    second.outbox.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(calls).toEqual(['key-1']);
  });

  it('holds another tab that shares the queue to the wait the server asked of one', async () => {
    const storage = new MemoryStorage();
    const calls: string[] = [];
    let refuse = true;
    const send = async (entry: OutboxEntry): Promise<SendOutcome<string>> => {
      calls.push(entry.key);
      if (refuse) return { kind: 'retry', error: new Error('429'), retryAfterMs: 60_000 };
      return { kind: 'sent', value: entry.key };
    };
    const first = setup(send, storage);
    const second = setup(send, storage, 'other-tab');
    first.outbox.start();
    second.outbox.start();
    first.outbox.enqueue();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toEqual(['key-1']);

    // The other tab hears of the change, and its own presses join the queue without going out.
    second.outbox.reload();
    second.outbox.enqueue();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toEqual(['key-1']);
    expect(second.outbox.getSnapshot().busyUntil).toBe(first.outbox.getSnapshot().busyUntil);

    refuse = false;
    await vi.advanceTimersByTimeAsync(32_000);
    // Once the wait is over both presses go out (a press sent by both tabs is one job: same key).
    expect(new Set(calls.slice(1))).toEqual(new Set(['key-1', 'other-tab-1']));
    expect(storage.data.get('simmer.outbox.v1')).toBe('[]');
  });
});
