import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Job } from '@simmer/contracts';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { launchBrowser, newContext, screenshot, seriousA11yViolations, watchPageErrors } from './support/browser';
import { startSimmer } from './support/simmer';

describe('a failed job, retried', () => {
  let unsplash: FakeUnsplash;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    unsplash = await startFakeUnsplash();
    // A real failure through the real server: the stand-in Unsplash answers 500 to every call, and the
    // job's time to get a photo is two seconds, so it ends `failed` (retry_limit_exceeded) soon after it is due.
    [server, browser] = await Promise.all([
      startSimmer({
        UNSPLASH_ACCESS_KEY: unsplash.accessKey,
        UNSPLASH_API_URL: unsplash.url,
        JOB_RETRY_LIMIT_MS: '2000',
        UNSPLASH_RETRY_BASE_MS: '100',
        UNSPLASH_RETRY_MAX_MS: '400',
      }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop(), unsplash?.close()]);
  });

  it('resolves after Retry once Unsplash is back, and its detail shows every attempt', async () => {
    unsplash.setFaults({ rate: 1, kinds: ['500'] });
    // The stand-in serves its photo files from its own loopback address, which the server's CSP
    // (rightly) does not allow for images; this test is about the job, not the CSP.
    const context = await newContext(browser, { bypassCSP: true });
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.locator('.connection[data-state="live"]').waitFor();
      await page.locator('header').getByRole('button', { name: 'New job' }).click();

      const failed = page.locator('article[data-status="failed"]');
      await failed.waitFor({ timeout: 30_000 });
      const id = (await failed.getAttribute('data-job-id'))!;
      expect(await failed.locator('.failed__hint').textContent()).toContain('Retry');

      // Unsplash is back; Retry (not sent by itself) takes the job back to pending, and it resolves.
      unsplash.setFaults({ rate: 0, kinds: [] });
      const card = page.locator(`article[data-job-id="${id}"]`);
      const retried = page.waitForResponse((res) => res.url().endsWith(`/jobs/${id}/retry`));
      await card.getByRole('button', { name: 'Retry' }).click();
      expect((await retried).status()).toBe(200);
      await expect.poll(() => card.getAttribute('data-status'), { timeout: 30_000 }).toBe('resolved');
      await card.locator('img.is-loaded').waitFor();

      const job = (await (await fetch(`${server.url}/jobs/${id}`)).json()) as Job;
      expect(job.attempts.at(-1)?.outcome).toBe('resolved');
      expect(job.attempts.some((attempt) => attempt.outcome === 'failed')).toBe(true);

      // The detail: created, each attempt (its start, end, outcome and error), the end.
      await card.locator('.card__link').click();
      const dialog = page.getByRole('dialog', { name: `Job #${id.replace(/-/g, '').slice(-6)}` });
      await dialog.waitFor();
      const attempts = dialog.locator('.timeline__item--attempt');
      expect(await attempts.count()).toBe(job.attempts.length);
      expect(await attempts.last().textContent()).toContain('got its photo');
      const failedAttempt = dialog.locator('.timeline__item--failed').first();
      expect(await failedAttempt.textContent()).toContain('failed');
      expect(await failedAttempt.locator('.timeline__error').textContent()).toBe(
        job.attempts.find((a) => a.outcome === 'failed')!.error!.message,
      );
      expect(await dialog.locator('.timeline__item--retried').count()).toBe(1);
      expect(await dialog.locator('.timeline__item--end').textContent()).toMatch(/^Resolved/);
      await dialog.getByText('This device created the job and keeps its control token', { exact: false }).waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'job-detail');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
