/** The part of the Web Locks API the election uses (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { steal?: boolean; signal?: AbortSignal }, callback: () => Promise<void>): Promise<unknown>;
  /** Who holds and who waits for which lock: a leader learns from it whether any tab follows. */
  query(): Promise<{ pending?: { name?: string }[] }>;
}

/** The part of `BroadcastChannel` the tabs talk over. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export interface LeaderClock {
  now(): number;
  setInterval(callback: () => void, ms: number): ReturnType<typeof setInterval>;
  clearInterval(handle: ReturnType<typeof setInterval>): void;
}

export interface TabLeaderOptions {
  locks: LockManagerLike;
  /** A channel of the leader's own (heartbeats and pings only). */
  channel: ChannelLike;
  lockName: string;
  /** How often the leader says it is alive; followers check this often, too. */
  heartbeatMs: number;
  /**
   * Silence after which a follower asks whether the leader is still there; after as long again
   * without an answer it takes the lock over. The worst takeover of a frozen leader is about
   * twice this plus twice the heartbeat.
   */
  silenceMs: number;
  /** This tab leads from now on, until the function it returns is called. */
  lead: () => () => void;
  id?: string;
  clock?: LeaderClock;
}

type LeaderMessage = { kind: 'alive'; from: string } | { kind: 'ping'; from: string };

const systemClock: LeaderClock = {
  now: () => Date.now(),
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => clearInterval(handle),
};

/**
 * Elects one tab of a browser profile to lead, with the Web Locks API: every tab asks for the same
 * exclusive lock and the browser grants it to one; when that tab closes, crashes or reloads the
 * browser releases the lock and grants it to the next tab at once.
 *
 * A frozen tab (background freezing, the back/forward cache) keeps its lock but runs nothing, so
 * the leader also says it is alive every `heartbeatMs` and answers pings at once. A follower that
 * has heard nothing for `silenceMs` pings; still nothing after another `silenceMs`, it takes the
 * lock with `steal: true`. The browser then rejects the frozen leader's hold on the lock, and the
 * leader, once it runs again, steps down and queues as a follower. The ping keeps a leader whose
 * timers the browser throttles (a hidden tab: once a second, later once a minute) in office: its
 * message handlers still run at once.
 */
export class TabLeader {
  private readonly o: Required<TabLeaderOptions>;
  private running = false;
  private leading = false;
  private stopLeading: (() => void) | null = null;
  /** Lets go of the held lock (resolves the promise its callback returned). */
  private release: (() => void) | null = null;
  /** Withdraws this tab's place in the lock's queue. */
  private queued: AbortController | null = null;
  /** Numbers this tab's lock requests; an answer to an older one is stale. */
  private requests = 0;
  private lastAliveAt = 0;
  private pingAt: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: TabLeaderOptions) {
    this.o = { id: crypto.randomUUID(), clock: systemClock, ...options };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get id(): string {
    return this.o.id;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastAliveAt = this.o.clock.now();
    this.o.channel.addEventListener('message', this.onMessage);
    this.timer = this.o.clock.setInterval(() => this.tick(), this.o.heartbeatMs);
    this.requestLock(false);
  }

  /** Leaves the election; a leader hands the lock to the next tab in the queue. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== null) this.o.clock.clearInterval(this.timer);
    this.timer = null;
    this.o.channel.removeEventListener('message', this.onMessage);
    this.queued?.abort();
    this.queued = null;
    this.stepDown();
  }

  private readonly onMessage = (event: MessageEvent): void => {
    const message = event.data as LeaderMessage | null;
    if (!message || message.from === this.o.id) return;
    if (message.kind === 'alive') {
      this.lastAliveAt = this.o.clock.now();
      this.pingAt = null;
    } else if (message.kind === 'ping' && this.leading) {
      this.say('alive');
    }
  };

  private tick(): void {
    if (this.leading) {
      this.say('alive');
      return;
    }
    const now = this.o.clock.now();
    if (this.pingAt === null) {
      if (now - this.lastAliveAt < this.o.silenceMs) return;
      this.pingAt = now;
      this.say('ping');
    } else if (now - this.pingAt >= this.o.silenceMs) {
      // Nobody answered: the leader is frozen (or gone without the browser noticing yet).
      this.pingAt = null;
      this.lastAliveAt = now;
      this.queued?.abort();
      this.queued = null;
      this.requestLock(true);
    }
  }

  private say(kind: LeaderMessage['kind']): void {
    this.o.channel.postMessage({ kind, from: this.o.id } satisfies LeaderMessage);
  }

  private requestLock(steal: boolean): void {
    const request = ++this.requests;
    const abort = new AbortController();
    if (!steal) this.queued = abort;
    let granted = false;
    this.o.locks
      .request(this.o.lockName, steal ? { steal: true } : { signal: abort.signal }, () => {
        granted = true;
        // Granted after this tab left, or for a request it has since replaced: let go at once.
        if (!this.running || request !== this.requests) return Promise.resolve();
        return new Promise<void>((resolve) => {
          this.release = resolve;
          this.becomeLeader();
        });
      })
      .catch(() => {
        // Either this tab withdrew its queued request (never granted), or another tab stole the
        // lock while this one held it: step down and queue again as a follower.
        if (!granted || request !== this.requests) return;
        this.stepDown();
        if (this.running) this.requestLock(false);
      });
  }

  private becomeLeader(): void {
    this.queued = null;
    this.pingAt = null;
    this.leading = true;
    this.say('alive');
    this.stopLeading = this.o.lead();
  }

  private stepDown(): void {
    if (!this.leading) return;
    this.leading = false;
    const stop = this.stopLeading;
    this.stopLeading = null;
    stop?.();
    this.release?.();
    this.release = null;
    // The next leader gets a full silence before anyone doubts it.
    this.lastAliveAt = this.o.clock.now();
  }
}
