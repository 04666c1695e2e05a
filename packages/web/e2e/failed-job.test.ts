import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { startFakeUnsplash, type FakeUnsplash } from '@simmer/testkit/fake-unsplash';
import { launchBrowser, newContext, screenshot, seriousA11yViolations, watchPageErrors } from './support/browser';
import { startSimmer } from './support/simmer';

describe('a job that cannot get a photo', () => {
  let unsplash: FakeUnsplash;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    unsplash = await startFakeUnsplash({ accessKey: 'the-right-key' });
    // A real failure through the real server: the stand-in Unsplash refuses this key with 401.
    [server, browser] = await Promise.all([
      startSimmer({ UNSPLASH_ACCESS_KEY: 'a-revoked-key', UNSPLASH_API_URL: unsplash.url }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop(), unsplash?.close()]);
  });

  it('says why, in words, on the card', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.getByRole('heading', { name: 'Nothing is simmering yet' }).waitFor();
      // Photos come from Unsplash here, so there is no demo notice.
      expect(await page.getByText('UNSPLASH_ACCESS_KEY').count()).toBe(0);

      for (let i = 0; i < 2; i++) await page.locator('header').getByRole('button', { name: 'New job' }).click();
      const failed = page.locator('article[data-status="failed"]');
      await expect.poll(() => failed.count(), { timeout: 30_000 }).toBe(2);
      const reason = await failed.first().locator('.failed__reason').textContent();
      expect(reason).toMatch(/access key|401/i);
      expect(await failed.first().locator('.failed__hint').textContent()).toContain('UNSPLASH_ACCESS_KEY');
      await expect.poll(() => page.getByRole('button', { name: /^Failed/ }).textContent()).toContain('2');
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'failed');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
