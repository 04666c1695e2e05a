import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, watchPageErrors } from './support/browser';
import { getStats, startSimmer } from './support/simmer';

const RETENTION_MS = 10_000;

describe('retention on the page', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startSimmer({
        // One fixed delay, so the cards made together resolve together and stay together until retention takes them.
        JOB_DELAY_MIN_MS: '2000',
        JOB_DELAY_MAX_MS: '2000',
        JOB_RETENTION_MS: String(RETENTION_MS),
      }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  const stored = async () => Object.values((await getStats(server.url)).counts).reduce((sum, n) => sum + n, 0);

  it('drops resolved cards once retention passes, live and on resuming after being offline, and the counts follow', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.getByRole('heading', { name: 'Nothing is simmering yet' }).waitFor();
      const cards = page.locator('article[data-status]');
      const resolvedCards = page.locator('article[data-status="resolved"]');
      const newJob = page.locator('header').getByRole('button', { name: 'New job' });

      // Live: the cards resolve, then leave while the page watches.
      for (let i = 0; i < 3; i++) await newJob.click();
      await expect.poll(() => resolvedCards.count(), { timeout: 30_000 }).toBe(3);
      // The count caught up with some of them (it refreshes at most once a second, so not necessarily all three).
      await expect.poll(() => page.getByRole('button', { name: /^Resolved/ }).textContent(), { timeout: 10_000 }).toMatch(/[1-9]/);
      await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(0);
      await expect.poll(() => page.getByRole('button', { name: /^Resolved/ }).textContent(), { timeout: 10_000 }).toContain('0');

      // On resume: the removals happen while the page is offline; it hears of them when it reconnects.
      for (let i = 0; i < 2; i++) await newJob.click();
      await expect.poll(() => resolvedCards.count(), { timeout: 30_000 }).toBe(2);
      await expect.poll(() => page.getByRole('button', { name: /^All/ }).textContent(), { timeout: 10_000 }).toMatch(/[1-9]/);
      await context.setOffline(true);
      await expect.poll(stored, { timeout: 30_000 }).toBe(0);
      expect(await resolvedCards.count()).toBe(2);
      await context.setOffline(false);
      await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(0);
      await expect.poll(() => page.getByRole('button', { name: /^All/ }).textContent(), { timeout: 10_000 }).toContain('0');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
