import { backoffDelay, type BackoffOptions } from '@simmer/contracts/backoff';

/** One press of "New job" that the server has not acknowledged yet. */
export interface OutboxEntry {
  /** The Idempotency-Key: every resend of this entry is the same request, so the server creates one job. */
  key: string;
  createdAt: string;
  attempts: number;
  lastError: string | null;
  /** Set while the server has asked us to wait (429/503 with Retry-After): when the next try is due. */
  busyUntil?: string | null;
}

export interface OutboxSnapshot {
  entries: readonly OutboxEntry[];
  /** The entry whose request is in flight right now, if any. */
  sendingKey: string | null;
  /** While the server has asked us to wait (Retry-After): when the queue tries again (ISO time). */
  busyUntil: string | null;
  /** The key of this tab's latest press (another tab's presses reach `entries` only), so the page can show it at once. */
  pressedKey: string | null;
}

export type SendOutcome<T> =
  | { kind: 'sent'; value: T }
  /** `retryAfterMs`: the server said how long to wait (Retry-After); the queue waits at least that long. */
  | { kind: 'retry'; error: unknown; retryAfterMs?: number }
  | { kind: 'rejected'; error: unknown };

export interface OutboxOptions<T> {
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  storageKey?: string;
  /** Sends one entry. Must classify the outcome: only `sent` and `rejected` take the entry out. */
  send: (entry: OutboxEntry) => Promise<SendOutcome<T>>;
  onSent?: (entry: OutboxEntry, value: T) => void;
  onRejected?: (entry: OutboxEntry, error: unknown) => void;
  isOnline: () => boolean;
  subscribeOnline: (listener: (online: boolean) => void) => () => void;
  newKey?: () => string;
  backoff?: BackoffOptions;
  random?: () => number;
  now?: () => Date;
}

export const OUTBOX_STORAGE_KEY = 'simmer.outbox.v1';

/**
 * A persistent queue of job creations.
 *
 * Invariant: an entry is written to storage BEFORE its first request and removed only after a 2xx
 * (or a 4xx that says the request itself is bad). Together with the idempotency key this gives
 * one job per press across failures, timeouts, lost answers and page reloads.
 * Entries are sent one at a time, oldest first; a failure pauses the whole queue with exponential
 * backoff and full jitter, so an outage ending does not turn into a burst of requests. When the
 * server says how long to wait (429/503 with Retry-After), the queue waits that long (plus up to a
 * second of jitter), and new presses join the queue without cutting the wait short.
 */
export class Outbox<T> {
  private readonly o: Required<Omit<OutboxOptions<T>, 'onSent' | 'onRejected'>> & Pick<OutboxOptions<T>, 'onSent' | 'onRejected'>;
  private readonly listeners = new Set<() => void>();
  private snap: OutboxSnapshot;
  private running = false;
  private again = false;
  private started = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Until when the server asked us not to send (epoch ms); 0 when it did not. */
  private holdUntil = 0;
  private unsubscribeOnline: (() => void) | null = null;

  constructor(options: OutboxOptions<T>) {
    this.o = {
      storageKey: OUTBOX_STORAGE_KEY,
      newKey: () => crypto.randomUUID(),
      backoff: { baseMs: 1_000, maxMs: 30_000 },
      random: Math.random,
      now: () => new Date(),
      ...options,
    };
    const entries = this.load();
    // A wait the server asked for outlives a reload (the entry keeps it).
    this.holdUntil = storedHold(entries);
    this.snap = {
      entries,
      sendingKey: null,
      pressedKey: null,
      busyUntil: this.holdUntil > this.o.now().getTime() ? entries[0]!.busyUntil! : null,
    };
  }

  /**
   * Whether the server asked to wait, as this tab heard it or as another tab sharing the stored
   * queue did (the head entry keeps the wait): if so, takes the wait on and schedules the try after it.
   */
  private holding(entries: readonly OutboxEntry[] = this.load()): boolean {
    this.holdUntil = Math.max(this.holdUntil, storedHold(entries));
    const wait = this.holdUntil - this.o.now().getTime();
    if (wait <= 0) return false;
    this.publish({ busyUntil: new Date(this.holdUntil).toISOString() });
    if (this.started && !this.timer) this.schedule(wait);
    return true;
  }

  /** Starts sending what is stored (also what an earlier page load left behind). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribeOnline = this.o.subscribeOnline((online) => {
      if (!online || this.holding()) return;
      this.attempt = 0;
      this.schedule(Math.floor(this.o.random() * 1_000));
    });
    const wait = this.holdUntil - this.o.now().getTime();
    if (wait > 0) this.schedule(wait);
    else void this.flush();
  }

  stop(): void {
    this.started = false;
    this.unsubscribeOnline?.();
    this.unsubscribeOnline = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Records a press and sends it as soon as it can. Returns the stored entry (for the queued card). */
  enqueue(): OutboxEntry {
    const entry: OutboxEntry = { key: this.o.newKey(), createdAt: this.o.now().toISOString(), attempts: 0, lastError: null };
    const entries = [...this.load(), entry];
    this.save(entries);
    this.publish({ pressedKey: entry.key });
    // While the server asked us to wait, the press waits its turn; the server's word stands.
    if (this.holding(entries)) return entry;
    // A new press is a good moment to try again even during a backoff pause; the key keeps it safe.
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.flush();
    return entry;
  }

  /** Picks up changes another tab made to the shared storage. */
  reload(): void {
    this.publish({ entries: this.load() });
    if (this.started && !this.running && !this.timer) void this.flush();
  }

  getSnapshot = (): OutboxSnapshot => this.snap;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Sends entries until the queue is empty or a send fails. */
  async flush(): Promise<void> {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.drain();
      } while (this.again && this.started && this.timer === null);
    } finally {
      this.running = false;
      this.publish({ sendingKey: null });
    }
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.started || !this.o.isOnline()) return;
      const entries = this.load();
      const entry = entries[0];
      if (!entry || this.holding(entries)) return;
      this.publish({ sendingKey: entry.key });
      let outcome: SendOutcome<T>;
      try {
        outcome = await this.o.send(entry);
      } catch (error) {
        outcome = { kind: 'retry', error };
      }
      if (outcome.kind === 'retry') {
        this.attempt += 1;
        const backoff = backoffDelay(this.attempt, this.o.backoff, this.o.random);
        const told = outcome.retryAfterMs;
        const delay = told === undefined ? backoff : told + Math.floor(this.o.random() * 1_000);
        this.holdUntil = told === undefined ? 0 : this.o.now().getTime() + delay;
        const busyUntil = told === undefined ? null : new Date(this.holdUntil).toISOString();
        this.patch(entry.key, { attempts: entry.attempts + 1, lastError: describe(outcome.error), busyUntil });
        this.publish({ busyUntil });
        this.schedule(delay);
        return;
      }
      this.attempt = 0;
      this.holdUntil = 0;
      this.publish({ busyUntil: null });
      this.remove(entry.key);
      if (outcome.kind === 'sent') this.o.onSent?.(entry, outcome.value);
      else this.o.onRejected?.(entry, outcome.error);
    }
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  private load(): OutboxEntry[] {
    try {
      const raw = this.o.storage.getItem(this.o.storageKey);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  }

  private save(entries: OutboxEntry[]): void {
    // If this throws (storage full or disabled), the press fails loudly instead of being silently lost.
    this.o.storage.setItem(this.o.storageKey, JSON.stringify(entries));
    this.publish({ entries });
  }

  private remove(key: string): void {
    this.save(this.load().filter((e) => e.key !== key));
  }

  private patch(key: string, patch: Partial<OutboxEntry>): void {
    this.save(this.load().map((e) => (e.key === key ? { ...e, ...patch } : e)));
  }

  private publish(patch: Partial<OutboxSnapshot>): void {
    const next = { ...this.snap, ...patch };
    if (
      next.entries === this.snap.entries &&
      next.sendingKey === this.snap.sendingKey &&
      next.busyUntil === this.snap.busyUntil &&
      next.pressedKey === this.snap.pressedKey
    ) {
      return;
    }
    this.snap = next;
    for (const listener of this.listeners) listener();
  }
}

function isEntry(value: unknown): value is OutboxEntry {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.key === 'string' && typeof v.createdAt === 'string' && typeof v.attempts === 'number';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Until when the head entry says the server asked to wait (epoch ms); 0 when it does not. */
function storedHold(entries: readonly OutboxEntry[]): number {
  const until = entries[0]?.busyUntil ? Date.parse(entries[0].busyUntil) : Number.NaN;
  return Number.isNaN(until) ? 0 : until;
}
