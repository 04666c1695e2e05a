import type { ChannelLike, LeaderClock, LockManagerLike } from './tab-leader';

/**
 * For tests: the tabs of one browser profile in one Node process. Node has BroadcastChannel but no
 * Web Locks, and neither can freeze a tab; this stands in for both, as a browser behaves:
 *
 * - one exclusive lock per name, granted in request order; `steal` breaks a held lock (the holder's
 *   request rejects with AbortError); `signal` withdraws a request not yet granted; a closed tab's
 *   locks are released and its queued requests dropped;
 * - channels deliver a structured clone of each message to every other open channel of that name;
 * - a frozen tab runs nothing: its timers do not fire, and messages, lock grants and anything its
 *   network sends it wait until it thaws; a hidden tab's timers can be held back alone. Everything
 *   a tab receives arrives as a later task.
 *
 * Timers are the global ones, so `vi.useFakeTimers()` drives them.
 */
export class SimulatedBrowser {
  private readonly held = new Map<string, LockRequest>();
  private readonly queues = new Map<string, LockRequest[]>();
  private readonly channels = new Map<string, Set<SimulatedChannel>>();
  private tabs = 0;
  /** Messages posted per channel name and kind (`message.kind`), for tests that count traffic. */
  readonly posted = new Map<string, number>();

  openTab(): SimulatedTab {
    return new SimulatedTab(this, ++this.tabs);
  }

  /** The number of the tab holding the lock `name`, or null: who leads, for assertions. */
  lockHolder(name: string): number | null {
    return this.held.get(name)?.tab.number ?? null;
  }

  /** @internal */
  request(
    tab: SimulatedTab,
    name: string,
    options: { steal?: boolean; signal?: AbortSignal },
    callback: () => Promise<void>,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const request: LockRequest = { tab, callback, resolve, reject };
      if (options.steal) {
        const holder = this.held.get(name);
        if (holder) {
          this.held.delete(name);
          holder.tab.deliver(() => holder.reject(new DOMException('The lock was stolen', 'AbortError')));
        }
        this.grant(name, request);
        return;
      }
      if (options.signal?.aborted) {
        tab.deliver(() => reject(new DOMException('Withdrawn', 'AbortError')));
        return;
      }
      options.signal?.addEventListener('abort', () => {
        const queue = this.queues.get(name) ?? [];
        const at = queue.indexOf(request);
        if (at === -1) return;
        queue.splice(at, 1);
        tab.deliver(() => reject(new DOMException('Withdrawn', 'AbortError')));
      });
      const queue = this.queues.get(name) ?? [];
      this.queues.set(name, queue);
      queue.push(request);
      this.pump(name);
    });
  }

  /** @internal */
  query(): { pending: { name: string }[] } {
    return { pending: [...this.queues].flatMap(([name, queue]) => queue.map(() => ({ name }))) };
  }

  /** @internal */
  join(channel: SimulatedChannel): void {
    const members = this.channels.get(channel.name) ?? new Set();
    this.channels.set(channel.name, members);
    members.add(channel);
  }

  /** @internal */
  leave(channel: SimulatedChannel): void {
    this.channels.get(channel.name)?.delete(channel);
  }

  /** @internal */
  broadcast(from: SimulatedChannel, message: unknown): void {
    const kind = `${from.name}:${String((message as { kind?: unknown } | null)?.kind)}`;
    this.posted.set(kind, (this.posted.get(kind) ?? 0) + 1);
    for (const member of this.channels.get(from.name) ?? []) {
      if (member !== from) member.receive(structuredClone(message));
    }
  }

  /** @internal The browser lets go of everything a closed tab held or waited for. */
  closed(tab: SimulatedTab): void {
    for (const [name, holder] of [...this.held]) {
      if (holder.tab === tab) {
        this.held.delete(name);
        this.pump(name);
      }
    }
    for (const [name, queue] of this.queues) {
      this.queues.set(
        name,
        queue.filter((request) => request.tab !== tab),
      );
    }
    for (const members of this.channels.values()) for (const member of [...members]) if (member.tab === tab) members.delete(member);
  }

  private pump(name: string): void {
    if (this.held.has(name)) return;
    const next = this.queues.get(name)?.shift();
    if (next) this.grant(name, next);
  }

  private grant(name: string, request: LockRequest): void {
    this.held.set(name, request);
    request.tab.deliver(() => {
      request.callback().then(
        (value) => {
          if (this.held.get(name) === request) {
            this.held.delete(name);
            this.pump(name);
          }
          request.resolve(value);
        },
        (error: unknown) => {
          if (this.held.get(name) === request) {
            this.held.delete(name);
            this.pump(name);
          }
          request.reject(error);
        },
      );
    });
  }
}

interface LockRequest {
  tab: SimulatedTab;
  callback: () => Promise<void>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SimulatedTab {
  private frozen = false;
  private throttled = false;
  private isClosed = false;
  private waiting: (() => void)[] = [];
  readonly locks: LockManagerLike;
  readonly clock: LeaderClock;

  constructor(
    private readonly browser: SimulatedBrowser,
    readonly number: number,
  ) {
    this.locks = {
      request: (name, options, callback) => browser.request(this, name, options, callback),
      query: () => Promise.resolve(browser.query()),
    };
    this.clock = {
      now: () => Date.now(),
      setInterval: (callback, ms) =>
        setInterval(() => {
          if (!this.frozen && !this.throttled && !this.isClosed) callback();
        }, ms),
      clearInterval: (handle) => clearInterval(handle),
    };
  }

  openChannel = (name: string): SimulatedChannel => new SimulatedChannel(this.browser, this, name);

  /** Runs `task` in this tab as a later task: at once when it runs, on thawing when frozen, never when closed. */
  deliver(task: () => void): void {
    if (this.isClosed) return;
    queueMicrotask(() => {
      if (this.isClosed) return;
      if (this.frozen) this.waiting.push(task);
      else task();
    });
  }

  /** A hidden tab's timers may fire once a minute: here, not at all; everything else runs. */
  throttleTimers(): void {
    this.throttled = true;
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const task of this.waiting.splice(0)) task();
  }

  /** Closes the tab as a browser does: nothing of it runs again, and its locks are released. */
  close(): void {
    this.isClosed = true;
    this.waiting = [];
    this.browser.closed(this);
  }

  get closedNow(): boolean {
    return this.isClosed;
  }
}

export class SimulatedChannel implements ChannelLike {
  private readonly listeners = new Set<(event: MessageEvent) => void>();
  private open = true;

  constructor(
    private readonly browser: SimulatedBrowser,
    readonly tab: SimulatedTab,
    readonly name: string,
  ) {
    browser.join(this);
  }

  postMessage(message: unknown): void {
    if (this.open && !this.tab.closedNow) this.browser.broadcast(this, message);
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.listeners.add(listener);
  }

  removeEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.listeners.delete(listener);
  }

  close(): void {
    this.open = false;
    this.browser.leave(this);
  }

  /** @internal */
  receive(data: unknown): void {
    this.tab.deliver(() => {
      if (!this.open) return;
      const event = { data } as MessageEvent;
      for (const listener of this.listeners) listener(event);
    });
  }
}
