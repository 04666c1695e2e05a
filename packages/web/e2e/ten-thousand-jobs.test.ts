import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, watchPageErrors } from './support/browser';
import { listAllJobs, seedJobs, startSimmer } from './support/simmer';

const JOBS = 10_000;
/** Far enough down to need 30 pages fetched one after another as the user scrolls. */
const SCROLL_TO = 3_000;

describe('10,000 jobs', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    // Long delays: the list holds still while we scroll through it.
    [server, browser] = await Promise.all([
      // Ten thousand creates from one address: the per-client limit is off for the seeding.
      startSimmer({ JOB_DELAY_MIN_MS: '240000', JOB_DELAY_MAX_MS: '300000', JOB_DELAY_STEP_MS: '5000', RATE_LIMIT_CREATES: '0' }),
      launchBrowser(),
    ]);
    await seedJobs(server.url, JOBS);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it('keeps the number of card nodes bounded and fetches older pages as the user scrolls', async () => {
    const all = await listAllJobs(server.url);
    expect(all).toHaveLength(JOBS);
    const target = all[SCROLL_TO - 1]!;
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      const requests: string[] = [];
      page.on('request', (req) => {
        if (new URL(req.url()).pathname === '/jobs') requests.push(req.url());
      });
      const opened = Date.now();
      await page.goto(server.url);
      await page.locator('article[data-job-id]').first().waitFor();
      await expect.poll(() => page.getByRole('button', { name: /^All/ }).textContent()).toContain(JOBS.toLocaleString('en-GB'));

      const cardCount = () => page.locator('article').count();
      const maxPosition = () =>
        page.$$eval('article[aria-posinset]', (els) => Math.max(...els.map((el) => Number(el.getAttribute('aria-posinset')))));

      // Main-thread tasks over 50 ms while scrolling, reported (not asserted: timings are for benchmarks).
      await page.evaluate(() => {
        const w = window as unknown as { longTasks: number[] };
        w.longTasks = [];
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) w.longTasks.push(entry.duration);
        }).observe({ type: 'longtask' });
      });

      console.info(`10k jobs: first cards after ${Date.now() - opened} ms`);
      let most = 0;
      const started = Date.now();
      while ((await maxPosition()) < SCROLL_TO) {
        if (Date.now() - started > 150_000) throw new Error(`scrolling stalled at position ${await maxPosition()}`);
        // Straight to the bottom each time, like dragging the scrollbar: the next page is fetched when the last rows show.
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await page.waitForTimeout(20);
        most = Math.max(most, await cardCount());
      }
      const scrollMs = Date.now() - started;
      await page.locator(`article[data-job-id="${target.id}"]`).waitFor();

      // Bounded DOM: only the rows near the viewport exist, whatever the list length.
      expect(most).toBeLessThan(100);
      expect(await cardCount()).toBeLessThan(100);
      // Pages were fetched as the user scrolled (100 a page), not all at once.
      expect(requests.length).toBeGreaterThanOrEqual(SCROLL_TO / 100);
      expect(requests.length).toBeLessThan(JOBS / 100);
      expect(requests.every((url) => new URL(url).searchParams.get('limit') === '100')).toBe(true);

      const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
      console.info(
        `10k jobs: reached job ${SCROLL_TO.toLocaleString('en-GB')} of ${JOBS.toLocaleString('en-GB')} in ${scrollMs} ms, ${requests.length} page requests, at most ${most} card nodes; ` +
          `${longTasks.length} main-thread tasks over 50 ms (longest ${Math.round(Math.max(0, ...longTasks))} ms)`,
      );
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
