import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Job } from '@simmer/contracts';
import { http1Get } from '@simmer/testkit/https-client';
import { makeSelfSignedCertificate, type SelfSignedCertificate } from '@simmer/testkit/self-signed';
import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { launchBrowser, newContext, watchPageErrors } from './support/browser';
import { FAST_DELAYS } from './support/simmer';

/** More tabs than a browser opens HTTP/1.1 connections to one host (6): over HTTP/1.1 the 7th stream would wait. */
const TABS = 12;

describe('the page over HTTPS with HTTP/2', () => {
  let dir: string;
  let certificate: SelfSignedCertificate;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    dir = await makeTempDir('simmer-e2e-https-');
    certificate = await makeSelfSignedCertificate(dir);
    [server, browser] = await Promise.all([
      startServerProcess({
        env: { ...FAST_DELAYS, TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile },
        tlsCa: certificate.cert,
      }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
    if (dir) await removeTempDir(dir);
  });

  it(`keeps ${TABS} tabs of one browser live over HTTP/2, and still answers HTTP/1.1 clients`, async () => {
    expect(server.url).toMatch(/^https:/);
    // The certificate is self-signed: the browser is told to take it.
    const context = await newContext(browser, { ignoreHTTPSErrors: true });
    try {
      const pages: Page[] = [];
      const problems: string[] = [];
      for (let i = 0; i < TABS; i++) {
        const page = await context.newPage();
        problems.push(...watchPageErrors(page));
        await page.goto(server.url);
        pages.push(page);
      }
      for (const page of pages) {
        await page.locator('.connection[data-state="live"]').waitFor({ timeout: 30_000 });
        expect(
          await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol),
        ).toBe('h2');
      }

      // One press in the last tab: every tab shows the job, and then its photo, as the events say.
      await pages.at(-1)!.locator('header').getByRole('button', { name: 'New job' }).click();
      for (const page of pages) {
        await page.locator('article[data-status="resolved"]').first().waitFor({ timeout: 30_000 });
      }
      const jobs = JSON.parse((await http1Get(`${server.url}/jobs`, certificate.cert)).body) as Job[];
      expect(jobs.map((job) => job.status)).toEqual(['resolved']);
      for (const page of pages) {
        expect(
          await page.locator('article[data-job-id]').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-job-id'))),
        ).toEqual([jobs[0]!.id]);
      }
      // Every tab is still live after it.
      for (const page of pages) expect(await page.locator('.connection').getAttribute('data-state')).toBe('live');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }

    const old = await http1Get(`${server.url}/readyz`, certificate.cert);
    expect(old).toMatchObject({ status: 200, httpVersion: '1.1', alpn: 'http/1.1' });
  });
});
