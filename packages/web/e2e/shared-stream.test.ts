import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Job } from '@simmer/contracts';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { connectSse } from '@simmer/testkit/sse-client';
import { launchBrowser, newContext, watchPageErrors } from './support/browser';
import { eventually, getStats, listAllJobs, startSimmer } from './support/simmer';

interface LiveDebug {
  role: 'solo' | 'leader' | 'follower';
  applied: number[];
}

const live = (page: Page) => page.evaluate(() => (window as unknown as { simmer: { live: () => LiveDebug } }).simmer.live());
const newJobButton = (page: Page) => page.locator('header').getByRole('button', { name: 'New job' });

/** Opens `count` more tabs of the board in `context`, each waiting until it shows it is live. */
async function openTabs(context: BrowserContext, url: string, count: number, problems: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    problems.push(...watchPageErrors(page));
    // A page stuck behind the browser's 6 connections per host never gets here (goto times out).
    await page.goto(url, { timeout: 20_000 });
    await page.locator('.connection[data-state="live"]').waitFor({ timeout: 20_000 });
    pages.push(page);
  }
  return pages;
}

async function roles(pages: Page[]): Promise<string[]> {
  return (await Promise.all(pages.map(live))).map((debug) => debug.role).sort();
}

/** Presses "New job" in `page` and returns the job it made (the server's newest: presses here go one at a time). */
async function press(page: Page, server: ServerProcess): Promise<Job> {
  const before = (await listAllJobs(server.url)).length;
  await newJobButton(page).click();
  return eventually(
    async () => {
      const jobs = await listAllJobs(server.url);
      return jobs.length > before ? jobs[0] : undefined;
    },
    20_000,
    'the pressed job on the server',
  );
}

/** The job's card, resolved with its photo loaded. */
const photoOf = (page: Page, job: Job) => page.locator(`article[data-job-id="${job.id}"][data-status="resolved"] img.is-loaded`);

describe('one event stream for all tabs of a browser', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSimmer(), launchBrowser()]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it('keeps 8, then 20 tabs of one profile live over HTTP/1.1; a job pressed in any tab shows its photo in every tab', async () => {
    const context = await newContext(browser);
    const problems: string[] = [];
    try {
      const tabs = await openTabs(context, server.url, 8, problems);
      expect(await roles(tabs)).toEqual(['follower', 'follower', 'follower', 'follower', 'follower', 'follower', 'follower', 'leader']);

      const pressed = await press(tabs.at(-1)!, server);
      for (const tab of tabs) await photoOf(tab, pressed).waitFor({ timeout: 30_000 });

      tabs.push(...(await openTabs(context, server.url, 12, problems)));
      expect(tabs).toHaveLength(20);
      const twenty = await roles(tabs);
      expect(twenty.filter((role) => role === 'leader')).toHaveLength(1);
      expect(twenty.filter((role) => role === 'follower')).toHaveLength(19);

      // Every tab can create jobs; every tab shows the photo of a job pressed in any of them.
      const jobs: Job[] = [];
      for (const tab of tabs) jobs.push(await press(tab, server));
      expect(new Set(jobs.map((job) => job.id)).size).toBe(20);
      for (const tab of tabs) {
        await photoOf(tab, jobs[19]!).waitFor({ timeout: 30_000 });
        await expect.poll(() => tab.locator('.filter__option--resolved .filter__count').textContent(), { timeout: 20_000 }).toBe('21');
      }
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
    // Twenty tabs of a real browser on a shared 2-core host: minutes, not seconds.
  }, 420_000);

  it('keeps every other tab receiving when the leader closes mid-stream, each change applied once', async () => {
    const context = await newContext(browser);
    const problems: string[] = [];
    const tabs = await openTabs(context, server.url, 4, problems);
    // From here on every change reaches the tabs as an event. The recorder hears what the server sent.
    const from = (await getStats(server.url)).lastSeq;
    const sent: { seq: number; id: string }[] = [];
    const recorder = await connectSse(`${server.url}/events?after=${from}`, {
      onEvent: (event) => {
        if (event.event === 'job' && event.id) sent.push({ seq: Number(event.id), id: (JSON.parse(event.data) as Job).id });
      },
    });
    try {
      const leaderIndex = (await Promise.all(tabs.map(live))).findIndex((debug) => debug.role === 'leader');
      expect(leaderIndex).toBeGreaterThanOrEqual(0);

      // A steady trickle of other people's jobs; the leader goes away halfway through.
      const created: Job[] = [];
      const trickle = (async () => {
        for (let i = 0; i < 60; i++) {
          const res = await fetch(`${server.url}/jobs`, { method: 'POST' });
          created.push((await res.json()) as Job);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await eventually(async () => created.length >= 30, 20_000, 'half of the trickle');
      await tabs[leaderIndex]!.close();
      const others = tabs.filter((_, i) => i !== leaderIndex);
      await trickle;

      // Every job settles; every remaining tab shows the newest one resolved, and the server's counts.
      await eventually(
        async () => {
          const { counts } = await getStats(server.url);
          return counts.pending + counts.running === 0;
        },
        30_000,
        'every job settled',
      );
      const final = await getStats(server.url);
      await eventually(async () => sent.at(-1)?.seq === final.lastSeq, 10_000, 'the recorder to hear the last change');
      for (const tab of others) {
        await photoOf(tab, created.at(-1)!).waitFor({ timeout: 20_000 });
        await expect
          .poll(() => tab.locator('.filter__option--resolved .filter__count').textContent(), { timeout: 20_000 })
          .toBe(final.counts.resolved.toLocaleString('en-GB'));
      }
      expect((await roles(others)).filter((role) => role === 'leader')).toHaveLength(1);

      // Each tab applied each change at most once, in order, and missed none: a change it did not
      // apply was collapsed into a later change of the same job (a resumed stream replays each
      // job's latest change only).
      const jobOf = new Map(sent.map((change) => [change.seq, change.id]));
      for (const tab of others) {
        const applied = (await live(tab)).applied.filter((seq) => seq > from);
        for (let i = 1; i < applied.length; i++) expect(applied[i]).toBeGreaterThan(applied[i - 1]!);
        for (const seq of applied) expect(jobOf.has(seq)).toBe(true);
        const appliedSet = new Set(applied);
        const latestApplied = new Map<string, number>();
        for (const seq of applied) latestApplied.set(jobOf.get(seq)!, seq);
        const missed = sent.filter((change) => !appliedSet.has(change.seq) && !((latestApplied.get(change.id) ?? -1) > change.seq));
        expect(missed).toEqual([]);
        console.info(
          `leader closed: a tab applied ${applied.length} of ${sent.length} changes (${sent.length - applied.length} collapsed in the takeover's replay)`,
        );
      }
      expect(problems).toEqual([]);
    } finally {
      recorder.close();
      await context.close();
    }
  });
});
