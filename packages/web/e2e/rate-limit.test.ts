import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, screenshot, seriousA11yViolations, watchPageErrors } from './support/browser';
import { listAllJobs, startSimmer } from './support/simmer';

const PRESSES = 16;
const LIMIT_PER_MINUTE = 10;

describe('the page under a per-client create limit', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSimmer({ RATE_LIMIT_CREATES: String(LIMIT_PER_MINUTE) }), launchBrowser()]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it(`turns ${PRESSES} quick presses into exactly ${PRESSES} jobs, waiting as the server says, and shows every photo`, async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.locator('.connection[data-state="live"]').waitFor();

      const newJob = page.locator('header').getByRole('button', { name: 'New job' });
      for (let i = 0; i < PRESSES; i++) await newJob.click();

      // Past the limit the server answers 429 with Retry-After: the queued cards say so and when.
      const busy = page.locator('article[data-outbox-key][data-busy="true"]');
      await busy.first().waitFor({ timeout: 20_000 });
      expect(await busy.first().locator('.queued__detail').textContent()).toMatch(
        /^The server is busy; it tries again at \d\d:\d\d:\d\d\./,
      );
      expect(await page.locator('article[data-outbox-key]').count()).toBe(PRESSES - LIMIT_PER_MINUTE);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'busy');

      // When the window opens again every waiting press goes out once: no press lost, none doubled.
      await expect.poll(() => page.locator('article[data-outbox-key]').count(), { timeout: 90_000, interval: 500 }).toBe(0);
      const jobs = await listAllJobs(server.url);
      expect(jobs).toHaveLength(PRESSES);
      await expect
        .poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 30_000, interval: 250 })
        .toBe(PRESSES);
      expect(await listAllJobs(server.url)).toHaveLength(PRESSES);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
