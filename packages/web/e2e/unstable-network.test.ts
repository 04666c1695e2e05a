import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { startFaultProxy, type FaultProxy } from '@simmer/testkit/fault-proxy';
import { launchBrowser, newContext, screenshot } from './support/browser';
import { eventually, listAllJobs, startSimmer } from './support/simmer';

const PRESSES = 12;
const FAULTS = { resetRate: 0.2, delayMs: [0, 1_000] as const };

/** Opens the board through a faulty network: a reset can cut the page or its script, so try again like a user would. */
async function openBoard(context: BrowserContext, url: string): Promise<Page> {
  for (let attempt = 1; ; attempt++) {
    const page = await context.newPage();
    try {
      await page.goto(url, { timeout: 15_000 });
      await page.locator('header').getByRole('button', { name: 'New job' }).waitFor({ timeout: 10_000 });
      return page;
    } catch (error) {
      await page.close();
      if (attempt >= 8) throw error;
    }
  }
}

async function press(page: Page, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await page.locator('header').getByRole('button', { name: 'New job' }).click();
    await page.waitForTimeout(150);
  }
}

describe('live updates and the outbox over an unstable network', () => {
  let server: ServerProcess;
  let proxy: FaultProxy;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startSimmer(), launchBrowser()]);
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), proxy?.close(), server?.stop()]);
  });

  it(`turns ${PRESSES} presses into exactly ${PRESSES} jobs through resets, jitter, offline periods and a server restart, and shows every photo without a reload`, async () => {
    const context = await newContext(browser);
    try {
      let page = await openBoard(context, proxy.url);
      await page.locator('.connection[data-state="live"]').waitFor();
      proxy.setFaults(FAULTS);

      await press(page, 4);

      // Offline: presses are kept on the device and shown as queued cards at once.
      await context.setOffline(true);
      await page.locator('.connection[data-state="offline"]').waitFor();
      await press(page, 3);
      await expect.poll(() => page.locator('article[data-outbox-key]').count()).toBeGreaterThanOrEqual(3);
      await screenshot(page, 'offline');
      // The tab goes away with its outbox unsent; a new page load picks the outbox up.
      await page.close();
      await context.setOffline(false);
      page = await openBoard(context, proxy.url);

      // The server restarts while the user keeps pressing.
      const restarting = server.restart();
      await press(page, 3);
      await restarting;
      await press(page, 2);

      // Every press reaches the server exactly once.
      await expect.poll(() => page.locator('article[data-outbox-key]').count(), { timeout: 60_000, interval: 250 }).toBe(0);
      const jobs = await listAllJobs(server.url);
      expect(jobs).toHaveLength(PRESSES);

      // One more offline period while the jobs finish on the server.
      await context.setOffline(true);
      await eventually(
        async () => (await listAllJobs(server.url)).every((job) => job.status === 'resolved'),
        30_000,
        'every job to resolve',
      );
      await context.setOffline(false);
      const back = Date.now();

      // Once the connection returns, every photo comes on the page by itself, without a reload. How
      // soon is a figure, logged: the bound only ends the wait (a page that never catches up fails).
      await expect
        .poll(() => page.locator('article[data-status="resolved"] img.is-loaded').count(), { timeout: 60_000, interval: 100 })
        .toBe(PRESSES);
      const catchUpMs = Date.now() - back;
      expect(await listAllJobs(server.url)).toHaveLength(PRESSES);
      console.info(
        `unstable network: all ${PRESSES} photos shown ${catchUpMs} ms after the connection returned; proxy ${JSON.stringify(proxy.stats)}`,
      );
    } finally {
      await context.close();
    }
  });
});
