import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedBrowser, type SimulatedTab } from './simulated-tabs';
import { TabLeader } from './tab-leader';

const LOCK = 'test.leader';
const HEARTBEAT_MS = 500;
const SILENCE_MS = 800;

interface Candidate {
  tab: SimulatedTab;
  leader: TabLeader;
  /** How many times this tab took office, and whether it holds it now. */
  terms: number;
  leading: boolean;
}

function candidate(browser: SimulatedBrowser): Candidate {
  const tab = browser.openTab();
  const c: Candidate = { tab, terms: 0, leading: false, leader: null as unknown as TabLeader };
  c.leader = new TabLeader({
    locks: tab.locks,
    channel: tab.openChannel('test.leader.channel'),
    lockName: LOCK,
    heartbeatMs: HEARTBEAT_MS,
    silenceMs: SILENCE_MS,
    clock: tab.clock,
    id: `tab-${tab.number}`,
    lead: () => {
      c.terms += 1;
      c.leading = true;
      return () => (c.leading = false);
    },
  });
  c.leader.start();
  return c;
}

/** Lets every task the tabs have queued run, moving the clock on by `ms` in small steps. */
const pass = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

const leaders = (candidates: Candidate[]) => candidates.filter((c) => c.leading && !c.tab.closedNow);

describe('TabLeader', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('elects one of two tabs, and the other at once when the leader closes', async () => {
    const browser = new SimulatedBrowser();
    const first = candidate(browser);
    const second = candidate(browser);
    await pass();
    expect(leaders([first, second])).toEqual([first]);
    await pass(5_000);
    // Heartbeats keep the other tab from doubting a live leader.
    expect(leaders([first, second])).toEqual([first]);
    expect(second.terms).toBe(0);

    first.tab.close();
    await pass();
    expect(leaders([first, second])).toEqual([second]);
    expect(browser.lockHolder(LOCK)).toBe(second.tab.number);
  });

  it('keeps exactly one leader among three tabs as leaders close one after another', async () => {
    const browser = new SimulatedBrowser();
    const tabs = [candidate(browser), candidate(browser), candidate(browser)];
    await pass();
    expect(leaders(tabs)).toEqual([tabs[0]]);
    tabs[0]!.tab.close();
    await pass();
    expect(leaders(tabs)).toEqual([tabs[1]]);
    await pass(3_000);
    expect(leaders(tabs)).toEqual([tabs[1]]);
    tabs[1]!.tab.close();
    await pass();
    expect(leaders(tabs)).toEqual([tabs[2]]);
    expect(tabs.map((c) => c.terms)).toEqual([1, 1, 1]);
  });

  it('hands over when the leader leaves the election (the page goes away)', async () => {
    const browser = new SimulatedBrowser();
    const tabs = [candidate(browser), candidate(browser)];
    await pass();
    tabs[0]!.leader.stop();
    await pass();
    expect(leaders(tabs)).toEqual([tabs[1]]);
    expect(tabs[0]!.leading).toBe(false);
  });

  it('takes over from a frozen leader within about two seconds, and the leader steps down when it thaws', async () => {
    const browser = new SimulatedBrowser();
    const tabs = [candidate(browser), candidate(browser), candidate(browser)];
    await pass();
    const [frozen, ...others] = tabs as [Candidate, Candidate, Candidate];
    frozen.tab.freeze();

    let waited = 0;
    while (leaders(others).length === 0 && waited < 10_000) {
      await pass(100);
      waited += 100;
    }
    expect(waited).toBeLessThanOrEqual(2 * SILENCE_MS + 2 * HEARTBEAT_MS);
    expect(leaders(others)).toHaveLength(1);
    const successor = leaders(others)[0]!;
    expect(browser.lockHolder(LOCK)).toBe(successor.tab.number);
    // Two followers timing out together: one of them holds office, whichever stole last.
    await pass(3_000);
    expect(leaders(others)).toEqual([successor]);

    // The frozen tab still believes it leads (it has run nothing); thawed, it learns it was deposed.
    expect(frozen.leading).toBe(true);
    frozen.tab.thaw();
    await pass();
    expect(frozen.leading).toBe(false);
    await pass(3_000);
    expect(leaders(tabs)).toEqual([successor]);

    // It queued again: it can lead once more.
    successor.tab.close();
    await pass();
    expect(leaders(tabs)).toHaveLength(1);
  });

  it('keeps a leader whose timers the browser throttles, since it still answers pings', async () => {
    const browser = new SimulatedBrowser();
    const tabs = [candidate(browser), candidate(browser)];
    await pass();
    // A hidden tab's timers may run once a minute; its message handlers still run at once.
    const throttled = tabs[0]!;
    throttled.tab.throttleTimers();
    await pass(30_000);
    expect(leaders(tabs)).toEqual([throttled]);
    expect(tabs[1]!.terms).toBe(0);
  });

  it('lets a leader that left stay out of office', async () => {
    const browser = new SimulatedBrowser();
    const only = candidate(browser);
    await pass();
    only.leader.stop();
    await pass(5_000);
    expect(only.leading).toBe(false);
    expect(browser.lockHolder(LOCK)).toBeNull();
  });
});
