import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StreamState } from './event-stream';
import { SharedEventStream } from './shared-event-stream';
import { SimulatedBrowser, type SimulatedTab } from './simulated-tabs';

/**
 * A stand-in `/events`: a log of changes, each job's latest replayed (collapsed) after the resume
 * point, then `ready`, then every new change live. What it sends a tab arrives as that tab's task,
 * so a frozen tab's network waits with the rest of it.
 */
class FakeEvents {
  private readonly log: { seq: number; id: string }[] = [];
  private readonly connections = new Set<{ tab: SimulatedTab; push: (text: string) => void }>();
  readonly urls: string[] = [];

  get head(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  /** Streams open to tabs still open. */
  get open(): number {
    return [...this.connections].filter((c) => !c.tab.closedNow).length;
  }

  change(id = `job-${this.log.length + 1}`): number {
    const seq = this.head + 1;
    this.log.push({ seq, id });
    for (const connection of this.connections) connection.push(frame(seq, id));
    return seq;
  }

  fetchFor(tab: SimulatedTab): typeof fetch {
    return (async (url: string, init: RequestInit) => {
      this.urls.push(url);
      const after = Number(new URL(url, 'http://x').searchParams.get('after') ?? this.head);
      const encoder = new TextEncoder();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => (controller = c) });
      const connection = { tab, push: (text: string) => tab.deliver(() => controller.enqueue(encoder.encode(text))) };
      init.signal?.addEventListener('abort', () => {
        this.connections.delete(connection);
        controller.error(new DOMException('aborted', 'AbortError'));
      });
      const latest = new Map<string, number>();
      for (const change of this.log) if (change.seq > after) latest.set(change.id, change.seq);
      const replay = [...latest].sort((a, b) => a[1] - b[1]);
      connection.push(replay.map(([id, seq]) => frame(seq, id)).join('') + `id: ${this.head}\nevent: ready\ndata: {}\n\n`);
      this.connections.add(connection);
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    }) as unknown as typeof fetch;
  }
}

const frame = (seq: number, id: string) => `id: ${seq}\nevent: job\ndata: {"id":"${id}","seq":${seq}}\n\n`;

interface Tab {
  tab: SimulatedTab;
  stream: SharedEventStream;
  /** The sequence numbers of the changes this tab applied, in order. */
  applied: number[];
  gaps: number;
  state: StreamState | null;
}

const open: Tab[] = [];

function openTab(browser: SimulatedBrowser, server: FakeEvents, { shared = true, from = server.head } = {}): Tab {
  const tab = browser.openTab();
  const t: Tab = { tab, stream: null as unknown as SharedEventStream, applied: [], gaps: 0, state: null };
  t.stream = new SharedEventStream(
    {
      url: '/events',
      tabs: shared ? { locks: tab.locks, openChannel: tab.openChannel } : null,
      onEvent: (event, seq) => {
        if (event.event === 'job') t.applied.push(seq!);
      },
      onGap: () => (t.gaps += 1),
      onStateChange: (state) => (t.state = state),
      isOnline: () => true,
      subscribeOnline: () => () => undefined,
      fetch: server.fetchFor(tab),
      backoff: { baseMs: 1, maxMs: 5 },
      name: 'test.events',
      heartbeatMs: 500,
      silenceMs: 800,
      clock: tab.clock,
      tabId: `tab-${tab.number}`,
    },
    from,
  );
  t.stream.start();
  open.push(t);
  return t;
}

const pass = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Moves the clock on in small steps until `check` holds; fails after `limitMs`. */
async function until(check: () => boolean, limitMs = 5_000): Promise<number> {
  let waited = 0;
  while (!check()) {
    if (waited >= limitMs) throw new Error(`not within ${limitMs} ms`);
    await pass(20);
    waited += 20;
  }
  return waited;
}

describe('SharedEventStream', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => {
    for (const t of open.splice(0)) t.stream.stop();
    vi.useRealTimers();
  });

  it('gives three tabs one stream, and every change to each of them once', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const tabs = [openTab(browser, server), openTab(browser, server), openTab(browser, server)];
    await until(() => tabs.every((t) => t.state?.status === 'live'));
    expect(server.open).toBe(1);
    expect(tabs.map((t) => t.stream.role).sort()).toEqual(['follower', 'follower', 'leader']);
    for (let i = 0; i < 5; i++) server.change();
    await until(() => tabs.every((t) => t.applied.length === 5));
    await pass(1_000);
    for (const t of tabs) expect(t.applied).toEqual(range(1, 5));
    expect(tabs.map((t) => t.gaps)).toEqual([0, 0, 0]);
  });

  it('resumes from the newest change applied when the leader dies between two frames', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const [leader, ...others] = [openTab(browser, server), openTab(browser, server), openTab(browser, server)] as [Tab, Tab, Tab];
    await until(() => leader.stream.role === 'leader' && others.every((t) => t.state?.status === 'live'));
    for (let i = 0; i < 3; i++) server.change();
    await until(() => others.every((t) => t.applied.length === 3));

    // Change 4 is on its way to the leader, which closes before it runs again; 5 comes meanwhile.
    server.change();
    leader.tab.close();
    server.change();
    await until(() => others.some((t) => t.stream.role === 'leader') && others.every((t) => t.applied.length === 5));
    expect(server.urls.at(-1)).toBe('/events?after=3');
    server.change();
    await until(() => others.every((t) => t.applied.length === 6));
    await pass(1_000);
    for (const t of others) {
      expect(t.applied).toEqual(range(1, 6));
      expect(t.gaps).toBe(0);
    }
    expect(server.open).toBe(1);
  });

  it('takes over from a frozen leader within about two seconds; the thawed leader’s late frames are applied nowhere twice', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const tabs = [openTab(browser, server), openTab(browser, server), openTab(browser, server)] as [Tab, Tab, Tab];
    const [frozen, ...others] = tabs;
    await until(() => frozen.stream.role === 'leader' && others.every((t) => t.state?.status === 'live'));
    for (let i = 0; i < 3; i++) server.change();
    await until(() => others.every((t) => t.applied.length === 3));

    frozen.tab.freeze();
    server.change();
    server.change();
    const took = await until(() => others.some((t) => t.stream.role === 'leader'));
    expect(took).toBeLessThanOrEqual(2_000);
    await until(() => others.every((t) => t.applied.length === 5));
    server.change();
    await until(() => others.every((t) => t.applied.length === 6));

    // The frozen tab's stream held 4, 5 and 6 all along: thawed, it applies them and relays them once more.
    frozen.tab.thaw();
    await until(() => frozen.applied.length === 6 && frozen.stream.role === 'follower');
    server.change();
    await until(() => tabs.every((t) => t.applied.length === 7));
    await pass(2_000);
    for (const t of tabs) {
      expect(t.applied).toEqual(range(1, 7));
      expect(t.gaps).toBe(0);
    }
    expect(server.open).toBe(1);
    expect(tabs.filter((t) => t.stream.role === 'leader')).toHaveLength(1);
  });

  it('tells a tab that opens later how the shared stream is doing, without a stream of its own', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const first = openTab(browser, server);
    await until(() => first.state?.status === 'live');
    const late = openTab(browser, server);
    await until(() => late.state?.status === 'live');
    expect(late.stream.role).toBe('follower');
    expect(server.open).toBe(1);
  });

  it('reports a gap when the relayed stream does not join onto what the tab applied', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const leader = openTab(browser, server);
    await until(() => leader.state?.status === 'live');
    for (let i = 0; i < 5; i++) server.change();
    await until(() => leader.applied.length === 5);
    // A tab whose resume point is older than the stream (read long ago): it cannot have 2 to 5.
    const behind = openTab(browser, server, { from: 1 });
    await pass(100);
    server.change();
    await until(() => behind.applied.length === 1);
    expect(behind.applied).toEqual([6]);
    expect(behind.gaps).toBe(1);
  });

  it('relays nothing while the leader is alone, and again once a tab opens', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const alone = openTab(browser, server);
    await until(() => alone.state?.status === 'live');
    await pass(1_500);
    const relayed = () => browser.posted.get('test.events.frames:frames') ?? 0;
    const before = relayed();
    for (let i = 0; i < 5; i++) server.change();
    await until(() => alone.applied.length === 5);
    await pass(100);
    expect(relayed()).toBe(before);

    const late = openTab(browser, server);
    await until(() => late.state?.status === 'live');
    server.change();
    await until(() => late.applied.length === 1);
    expect(late.applied).toEqual([6]);
    expect(late.gaps).toBe(0);
    expect(relayed()).toBeGreaterThan(before);
  });

  it('tells the followers of the stream’s status when it changes, not with every event', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const tabs = [openTab(browser, server), openTab(browser, server)];
    await until(() => tabs.every((t) => t.state?.status === 'live'));
    const states = () => browser.posted.get('test.events.frames:state') ?? 0;
    const before = states();
    for (let i = 0; i < 20; i++) server.change();
    await until(() => tabs.every((t) => t.applied.length === 20));
    expect(states()).toBe(before);
    expect(tabs.map((t) => t.state?.lastSeq)).toEqual([20, 20]);
  });

  it('holds a stream per tab where the browser cannot share one', async () => {
    const browser = new SimulatedBrowser();
    const server = new FakeEvents();
    const tabs = [openTab(browser, server, { shared: false }), openTab(browser, server, { shared: false })];
    await until(() => tabs.every((t) => t.state?.status === 'live'));
    expect(server.open).toBe(2);
    expect(tabs.map((t) => t.stream.role)).toEqual(['solo', 'solo']);
    server.change();
    await until(() => tabs.every((t) => t.applied.length === 1));
  });
});
