import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { JobCounts } from '@simmer/contracts';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, watchPageErrors } from './support/browser';
import { eventually, getStats, startSimmer } from './support/simmer';
import { startStorm } from './support/storm';

const PER_SECOND = 500;
const STORM_MS = 15_000;
const STATUSES = ['pending', 'running', 'resolved', 'failed'] as const;

const newJobButton = (page: Page) => page.locator('header').getByRole('button', { name: 'New job' });

/** What the page records about itself (installed before any of its scripts run). */
interface PagePerf {
  longTasks: [start: number, duration: number][];
}

/** Long tasks from the page's first moment on: the observer is in place before the app's code runs. */
function recordLongTasks(): void {
  const perf: PagePerf = { longTasks: [] };
  (window as unknown as { __perf: PagePerf }).__perf = perf;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) perf.longTasks.push([entry.startTime, entry.duration]);
  }).observe({ type: 'longtask', buffered: true });
}

/**
 * Arms a watch for the next press of "New job": resolves with how long after the click (the input
 * event's own timestamp, so time spent queued behind a long task counts) the pressed job's card was
 * in the document and inside the viewport.
 */
async function armPressWatch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __press: Promise<{ inDomMs: number; visibleMs: number }> };
    w.__press = new Promise((resolve) => {
      const before = new Set([...document.querySelectorAll('[data-outbox-key]')].map((el) => el.getAttribute('data-outbox-key')));
      let clickedAt = -1;
      // Never seen within 5 s of the click: reported as -1.
      let inDomMs = -1;
      let done = false;
      let giveUp: ReturnType<typeof setTimeout> | undefined;
      const stop = () => {
        done = true;
        observer.disconnect();
        document.removeEventListener('click', onClick, true);
        resolve({ inDomMs, visibleMs: -1 });
      };
      const onClick = (event: MouseEvent) => {
        if (!(event.target as Element | null)?.closest('header button')?.textContent?.includes('New job')) return;
        clickedAt = event.timeStamp;
        giveUp = setTimeout(stop, 5_000);
      };
      document.addEventListener('click', onClick, true);
      const fresh = () => [...document.querySelectorAll('[data-outbox-key]')].find((el) => !before.has(el.getAttribute('data-outbox-key')));
      const observer = new MutationObserver(() => {
        const card = clickedAt >= 0 ? fresh() : undefined;
        if (!card) return;
        observer.disconnect();
        inDomMs = performance.now() - clickedAt;
        const key = card.getAttribute('data-outbox-key');
        // Then in view: the queued card stands for the press until the server's answer replaces it.
        const check = () => {
          const el = document.querySelector(`[data-outbox-key="${key}"]`);
          const rect = el?.getBoundingClientRect();
          if (rect && rect.bottom > 0 && rect.top < window.innerHeight) {
            clearTimeout(giveUp);
            done = true;
            document.removeEventListener('click', onClick, true);
            resolve({ inDomMs, visibleMs: performance.now() - clickedAt });
          } else if (!done) requestAnimationFrame(check);
        };
        check();
      });
      observer.observe(document.body, { childList: true, subtree: true });
    });
  });
}

async function pressAndMeasure(page: Page): Promise<{ inDomMs: number; visibleMs: number }> {
  await armPressWatch(page);
  await newJobButton(page).click();
  return page.evaluate(() => (window as unknown as { __press: Promise<{ inDomMs: number; visibleMs: number }> }).__press);
}

async function pageCounts(page: Page): Promise<JobCounts> {
  const counts = {} as JobCounts;
  for (const status of STATUSES) {
    const text = (await page.locator(`.filter__option--${status} .filter__count`).textContent()) ?? '';
    counts[status] = Number(text.replace(/\D/g, '') || NaN);
  }
  return counts;
}

const sameCounts = (a: JobCounts, b: JobCounts) => STATUSES.every((status) => a[status] === b[status]);

describe('a storm of other people’s jobs', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      // Hundreds of creates a second from one address: the per-client limit is off. Short delays, so
      // every job goes pending → running → resolved while the storm lasts.
      startSimmer({ RATE_LIMIT_CREATES: '0', JOB_DELAY_MIN_MS: '1000', JOB_DELAY_MAX_MS: '3000', JOB_DELAY_STEP_MS: '1000' }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it('shows each press, holds others’ new jobs while the reader is scrolled, ends on the server’s counts, and reports how responsive it stayed', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.addInitScript(recordLongTasks);
      const cdp = await context.newCDPSession(page);
      await page.goto(server.url);
      await page.locator('.connection[data-state="live"]').waitFor();
      await page.getByRole('heading', { name: 'Nothing is simmering yet' }).waitFor();

      let heapMax = 0;
      const sampleHeap = async () => {
        const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
        heapMax = Math.max(heapMax, usedSize);
      };
      const pageStart = await page.evaluate(() => performance.now());
      const startedAt = Date.now();
      const storm = startStorm({ url: server.url, perSecond: PER_SECOND, durationMs: STORM_MS });
      let stormDone = false;
      // When the storm ended, on this clock: measurements end there, not after the last heap sample.
      let stormEndedAt = 0;
      const stormResult = storm.finally(() => {
        stormDone = true;
        stormEndedAt = Date.now();
      });
      const heapSampler = (async () => {
        while (!stormDone) {
          await sampleHeap();
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      })();
      const at = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + ms - Date.now())));

      // A press at the top of the board, mid-storm.
      await at(4_000);
      const pressAtTop = await pressAndMeasure(page);

      // The reader scrolls down: the cards they look at stay where they are while others' jobs pile up.
      await at(6_000);
      await page.evaluate(() => window.scrollTo(0, 2_000));
      const control = page.getByRole('button', { name: /^\d[\d,]* new jobs?$/ });
      const heldCount = async () =>
        Number(((await control.textContent({ timeout: 1_000 }).catch(() => null)) ?? '').replace(/\D/g, '') || 0);
      const anchorTop = (id: string | null) =>
        page.evaluate((jobId) => {
          const card = jobId ? document.querySelector(`article[data-job-id="${jobId}"]`) : null;
          return card ? Math.round(card.getBoundingClientRect().top) : null;
        }, id);
      // Once the hold is on (the control shows), the cards in view must stay put while it grows.
      const heldAtFirst = await eventually(async () => (await heldCount()) || undefined, 4_000, 'the "N new jobs" control').catch(() => 0);
      const anchor = await page.evaluate(() => {
        const card = [...document.querySelectorAll('article[data-job-id]')].find((el) => el.getBoundingClientRect().top > 100);
        return card ? { id: card.getAttribute('data-job-id'), top: Math.round(card.getBoundingClientRect().top) } : null;
      });
      const held = await eventually(
        async () => ((await heldCount()) >= heldAtFirst + 100 ? true : undefined),
        4_000,
        '100 more held jobs',
      ).catch(() => false);
      const anchorAfter = anchor ? await anchorTop(anchor.id) : null;

      // A press while scrolled away: the person's own job shows at once all the same.
      await at(10_000);
      const pressScrolled = await pressAndMeasure(page);

      const { created, failed, durationMs } = await stormResult;
      await heapSampler;
      await sampleHeap();
      // The page's clock and this one run together: the storm's end in page time.
      const endedAt = stormEndedAt;
      const pageEnd = pageStart + (endedAt - startedAt);

      // The page's counts equal the server's once the storm is over: the first moment they match, and
      // how long after the server's own counts stopped moving (every job settled) the page shows them.
      const seen: { firstEqualMs: number | null; serverSettledMs: number | null } = { firstEqualMs: null, serverSettledMs: null };
      const settledMs = await eventually(
        async () => {
          const [shown, stats] = await Promise.all([pageCounts(page), getStats(server.url)]);
          const since = Date.now() - endedAt;
          const settled = stats.counts.pending + stats.counts.running === 0;
          if (settled) seen.serverSettledMs ??= since;
          if (!sameCounts(shown, stats.counts)) return false;
          seen.firstEqualMs ??= since;
          return settled ? since : false;
        },
        30_000,
        'the page to show the server’s settled counts',
        50,
      );
      const tasks = await page.evaluate(() => (window as unknown as { __perf: PagePerf }).__perf.longTasks);
      const inStorm = tasks.filter(([start]) => start >= pageStart && start <= pageEnd);
      const blockedMs = inStorm.reduce((sum, [, duration]) => sum + duration, 0);
      const blockedShare = blockedMs / (pageEnd - pageStart);
      const longest = Math.max(0, ...inStorm.map(([, duration]) => duration));
      console.info(
        `storm: ${created} created (${failed} failed) in ${durationMs} ms = ${Math.round((created * 1000) / durationMs)}/s; ` +
          `long tasks ${inStorm.length}, ${Math.round(blockedMs)} ms of ${Math.round(pageEnd - pageStart)} ms = ${(blockedShare * 100).toFixed(1)} % blocked, longest ${Math.round(longest)} ms; ` +
          `press at top: card in DOM ${Math.round(pressAtTop.inDomMs)} ms, visible ${Math.round(pressAtTop.visibleMs)} ms; ` +
          `press scrolled: in DOM ${Math.round(pressScrolled.inDomMs)} ms, visible ${Math.round(pressScrolled.visibleMs)} ms; ` +
          `held behind the control: ${held}, anchor moved ${anchor && anchorAfter !== null ? anchorAfter - anchor.top : 'gone'} px; ` +
          `counts equal /stats first ${seen.firstEqualMs} ms after the storm, settled on the server at ${seen.serverSettledMs} ms, on the page at ${settledMs} ms; JS heap max ${(heapMax / 2 ** 20).toFixed(1)} MiB`,
      );

      // The timings (blocked share against the 20 % target, a press in view against 200 ms, counts
      // within 2 s) are reported above, not asserted: on a shared host they measure the host (see
      // docs/benchmarks.md). Asserted: what the page does, whatever the host's load.
      expect(created).toBeGreaterThan(0);
      for (const press of [pressAtTop, pressScrolled]) expect(press.visibleMs).toBeGreaterThanOrEqual(0);
      expect(held).toBe(true);
      // Held jobs push nothing down (a row is ~280 px); a few pixels of the browser's own scroll anchoring are not a push.
      expect(anchor).not.toBeNull();
      expect(anchorAfter).not.toBeNull();
      expect(Math.abs(anchorAfter! - anchor!.top)).toBeLessThanOrEqual(16);
      expect(seen.firstEqualMs).not.toBeNull();
      expect(heapMax).toBeLessThanOrEqual(100 * 2 ** 20);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
