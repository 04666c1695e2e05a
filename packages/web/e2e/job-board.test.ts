import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, screenshot, seriousA11yViolations, watchPageErrors } from './support/browser';
import { eventually, getStats, listAllJobs, startSimmer } from './support/simmer';

const cards = (page: Page) => page.locator('article[data-job-id]');
const newJobButton = (page: Page) => page.locator('header').getByRole('button', { name: 'New job' });

describe('the job board in a real browser', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSimmer(), launchBrowser()]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it('creates jobs by clicking, counts down, shows photos live, filters, and survives a reload', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);

      // Empty state, with the demo-images notice.
      await page.getByRole('heading', { name: 'Nothing is simmering yet' }).waitFor();
      await page.getByText('UNSPLASH_ACCESS_KEY').waitFor();
      await page.locator('.connection[data-state="live"]').waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'empty');

      // Three presses, three cards at once (queued, then acknowledged).
      for (let i = 0; i < 3; i++) await newJobButton(page).click();
      await expect.poll(() => cards(page).count(), { timeout: 15_000 }).toBe(3);
      await expect.poll(async () => (await listAllJobs(server.url)).length).toBe(3);

      // The countdown moves.
      const countdown = page.locator('article[data-status="pending"] .pending__countdown').first();
      const before = await countdown.textContent();
      await expect.poll(() => countdown.textContent(), { timeout: 10_000 }).not.toBe(before);
      await screenshot(page, 'pending');

      // Photos appear without a reload.
      await expect.poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 20_000 }).toBe(3);
      const credit = page.locator('article[data-status="resolved"] .card__meta').first();
      expect(await credit.textContent()).toMatch(/^By \S/);
      expect(await page.locator('article[data-status="resolved"] .badge').first().textContent()).toBe('demo image');
      expect(await seriousA11yViolations(page)).toEqual([]);

      // More jobs so the board shows every state at once.
      for (let i = 0; i < 5; i++) await newJobButton(page).click();
      await expect.poll(() => cards(page).count(), { timeout: 15_000 }).toBe(8);
      // Counts follow the events at most once a second: let them catch up before the picture.
      await expect.poll(() => page.locator('.filter__option--all .filter__count').textContent(), { timeout: 15_000 }).toBe('8');
      await screenshot(page, 'board');

      // The larger view: an accessible dialog with a Download that goes through the API.
      await page.locator('article[data-status="resolved"] .photo-button').first().click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.locator('img.dialog__img').evaluate((img: HTMLImageElement) => img.decode());
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'photo-dialog');
      const download = page.waitForResponse((res) => res.url().endsWith('/download') && res.request().method() === 'POST');
      const popup = context.waitForEvent('page', { timeout: 5_000 }).catch(() => null);
      await dialog.getByRole('button', { name: 'Download' }).click();
      expect((await download).status()).toBe(200);
      await (await popup)?.close();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });

      // Filter: only resolved jobs, then an empty filter, then all again.
      await expect.poll(() => page.locator('article[data-status="resolved"]').count(), { timeout: 20_000 }).toBe(8);
      await page.getByRole('button', { name: /^Resolved/ }).click();
      expect(await page.getByRole('button', { name: /^Resolved/ }).getAttribute('aria-pressed')).toBe('true');
      await expect.poll(() => cards(page).count()).toBe(8);
      await page.mouse.move(0, 0);
      await screenshot(page, 'resolved');
      await page.getByRole('button', { name: /^Failed/ }).click();
      await page.getByRole('heading', { name: 'No failed jobs' }).waitFor();
      expect(page.url()).toContain('status=failed');
      await page.getByRole('button', { name: /^All/ }).click();
      await expect.poll(() => cards(page).count()).toBe(8);

      // Counts come from /stats and follow the events.
      const stats = await getStats(server.url);
      expect(stats.counts.resolved).toBe(8);
      await expect.poll(() => page.getByRole('button', { name: /^Resolved/ }).textContent()).toContain('8');

      // A reload shows the same jobs, from the server.
      await page.reload();
      await expect.poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 10_000 }).toBe(8);

      // Keyboard only: the skip link first, then "New job".
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to jobs');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('New job');
      await page.keyboard.press('Enter');
      await expect.poll(() => cards(page).count(), { timeout: 15_000 }).toBe(9);
      await expect.poll(() => page.getByTestId('announcer').textContent()).toMatch(/New job created/);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('looks right in dark mode and at phone width', async () => {
    // Start from a settled board: every job so far has its photo.
    await eventually(async () => (await listAllJobs(server.url)).every((job) => job.status === 'resolved'), 20_000, 'every job to resolve');
    const dark = await newContext(browser, { colorScheme: 'dark' });
    try {
      const page = await dark.newPage();
      await page.goto(server.url);
      await expect
        .poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(6);
      expect(await seriousA11yViolations(page)).toEqual([]);
      // Two fresh jobs arrive over the live stream on top of the resolved ones: several states on one screen.
      for (let i = 0; i < 2; i++) await fetch(`${server.url}/jobs`, { method: 'POST' });
      await expect.poll(() => page.locator('article[data-status="pending"]').count()).toBe(2);
      await screenshot(page, 'dark');
    } finally {
      await dark.close();
    }

    const phone = await newContext(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
      reducedMotion: 'reduce',
    });
    try {
      const page = await phone.newPage();
      await page.goto(server.url);
      await expect
        .poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 10_000 })
        .toBeGreaterThanOrEqual(1);
      // One column, no sideways scrolling.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'phone');
    } finally {
      await phone.close();
    }
  });
});
