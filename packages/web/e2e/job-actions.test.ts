import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import type { Job } from '@simmer/contracts';
import type { ServerProcess } from '@simmer/testkit/server-process';
import { launchBrowser, newContext, screenshot, seriousA11yViolations, watchPageErrors } from './support/browser';
import { seedJobs, startSimmer } from './support/simmer';

const OPERATOR_TOKEN = 'e2e-operator-token-0123456789abcdef';
const ACTION_NAMES = /^(Cancel|Run now|Retry|Delete)$/;

const card = (page: Page, id: string) => page.locator(`article[data-job-id="${id}"]`);
const newJobButton = (page: Page) => page.locator('header').getByRole('button', { name: 'New job' });
/** The action buttons a card offers (its photo and its name's link are not actions). */
const actionsOf = (article: Locator) => article.getByRole('button', { name: ACTION_NAMES });
const shortIdOf = (id: string) => id.replace(/-/g, '').slice(-6);

async function getJob(base: string, id: string): Promise<{ status: number; job: Job | null }> {
  const res = await fetch(`${base}/jobs/${id}`);
  return { status: res.status, job: res.ok ? ((await res.json()) as Job) : null };
}

/** A job made by another client: a direct POST, as a script or another person's browser would. */
async function createElsewhere(base: string): Promise<Job> {
  const res = await fetch(`${base}/jobs`, { method: 'POST' });
  if (res.status !== 202) throw new Error(`POST /jobs: ${res.status}`);
  return (await res.json()) as Job;
}

/** Presses "New job" and returns the id of the card that press made (the newest of this tab's own). */
async function pressNewJob(page: Page): Promise<string> {
  const before = new Set(await page.locator('article[data-job-id]').evaluateAll((els) => els.map((el) => el.getAttribute('data-job-id'))));
  await newJobButton(page).click();
  let id: string | undefined;
  await expect
    .poll(
      async () => {
        const ids = await page.locator('article[data-job-id]').evaluateAll((els) => els.map((el) => el.getAttribute('data-job-id')!));
        id = ids.find((candidate) => !before.has(candidate));
        return id;
      },
      { timeout: 15_000 },
    )
    .toBeTruthy();
  return id!;
}

describe('acting on jobs from the page', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    // Jobs wait a minute or two, so they are still pending when acted on.
    [server, browser] = await Promise.all([
      startSimmer({ JOB_DELAY_MIN_MS: '60000', JOB_DELAY_MAX_MS: '120000', OPERATOR_TOKEN, RATE_LIMIT_CREATES: '0' }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled([browser?.close(), server?.stop()]);
  });

  it('cancels your own pending job from its card; the token outlives a reload and works from another tab', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      // Nothing cancelled yet: the filter's empty state.
      await page.goto(`${server.url}/?status=cancelled`);
      await page.getByRole('heading', { name: 'No cancelled jobs' }).waitFor();
      await page.getByRole('button', { name: /^All/ }).click();
      await page.locator('.connection[data-state="live"]').waitFor();

      const id = await pressNewJob(page);
      const mine = card(page, id);
      await mine.locator('.tag', { hasText: 'yours' }).waitFor();
      expect(await actionsOf(mine).allTextContents()).toEqual(['Cancel', 'Run now', '']);
      expect(await mine.getByRole('button', { name: 'Delete' }).count()).toBe(1);

      await mine.getByRole('button', { name: 'Cancel' }).click();
      await expect.poll(() => mine.getAttribute('data-status')).toBe('cancelled');
      expect((await getJob(server.url, id)).job?.status).toBe('cancelled');
      await expect.poll(() => page.getByTestId('announcer').textContent()).toContain(`Job #${shortIdOf(id)} cancelled.`);
      // A cancelled job offers Retry and Delete.
      await expect.poll(() => actionsOf(mine).count()).toBe(2);
      expect(await mine.getByRole('button', { name: 'Retry' }).count()).toBe(1);
      await expect.poll(() => page.getByRole('button', { name: /^Cancelled/ }).textContent(), { timeout: 10_000 }).toContain('1');

      // The control token is kept on the device: after a reload, and in another tab of this browser, it still acts.
      await page.reload();
      await card(page, id).getByRole('button', { name: 'Retry' }).waitFor();
      const other = await context.newPage();
      await other.goto(server.url);
      const there = card(other, id);
      await there.getByRole('button', { name: 'Retry' }).click();
      // Due at once: claimed and served (demo photos come at once), in both tabs.
      await expect.poll(async () => (await getJob(server.url, id)).job?.status, { timeout: 15_000 }).toBe('resolved');
      await expect.poll(() => there.getAttribute('data-status')).toBe('resolved');
      await expect.poll(() => card(page, id).getAttribute('data-status')).toBe('resolved');

      // Delete asks first; Keep keeps it, Yes deletes it everywhere.
      await card(page, id).getByRole('button', { name: 'Delete' }).click();
      await card(page, id).getByRole('button', { name: 'Keep' }).click();
      expect((await getJob(server.url, id)).status).toBe(200);
      await card(page, id).getByRole('button', { name: 'Delete' }).click();
      await card(page, id).getByRole('button', { name: 'Yes, delete' }).click();
      await card(page, id).waitFor({ state: 'detached' });
      expect((await getJob(server.url, id)).status).toBe(404);
      await card(other, id).waitFor({ state: 'detached' });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows no actions on a job made by another client, and Run now on your own serves it at once', async () => {
    const [context, someoneElse] = await Promise.all([newContext(browser), newContext(browser)]);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.locator('.connection[data-state="live"]').waitFor();

      // A direct POST (a script), and a press in another browser: both arrive live, with no actions here.
      const scripted = await createElsewhere(server.url);
      const theirPage = await someoneElse.newPage();
      await theirPage.goto(server.url);
      // Their list shows the scripted job first, so the press's card is the one new card after it.
      await card(theirPage, scripted.id).waitFor();
      const theirs = await pressNewJob(theirPage);
      // Its card can come over the stream a moment before the create's answer brings the token.
      await expect.poll(() => actionsOf(card(theirPage, theirs)).count()).toBe(3);
      for (const id of [scripted.id, theirs]) {
        await card(page, id).waitFor();
        expect(await actionsOf(card(page, id)).count()).toBe(0);
        expect(await card(page, id).locator('.tag').count()).toBe(0);
      }
      // Their detail says who may act on it.
      await card(page, theirs).getByRole('link').click();
      const dialog = page.getByRole('dialog', { name: `Job #${shortIdOf(theirs)}` });
      await dialog.getByText('Only the device that created this job, or an operator signed in, can act on it.').waitFor();
      expect(await actionsOf(dialog).count()).toBe(0);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await expect.poll(() => new URL(page.url()).searchParams.has('job')).toBe(false);

      // Run now: due at once, claimed and served (demo photos come at once).
      const mine = await pressNewJob(page);
      await card(page, mine).getByRole('button', { name: 'Run now' }).click();
      await expect.poll(() => card(page, mine).getAttribute('data-status'), { timeout: 15_000 }).toBe('resolved');
      expect(await actionsOf(card(page, mine)).allTextContents()).toEqual(['']);
      expect(await seriousA11yViolations(page)).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await Promise.all([context.close(), someoneElse.close()]);
    }
  });

  it("signs an operator in for the tab's session (actions on every card); refusals are explained, not retried", async () => {
    const context = await newContext(browser);
    try {
      const others = await Promise.all([createElsewhere(server.url), createElsewhere(server.url)]);
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      for (const job of others) await card(page, job.id).waitFor();
      expect(await actionsOf(card(page, others[0].id)).count()).toBe(0);

      // A wrong token: the server is asked first, and the tab does not keep it.
      await page.locator('header').getByRole('button', { name: 'Operator sign-in' }).click();
      const form = page.getByRole('dialog', { name: 'Operator sign-in' });
      await form.getByLabel('Operator token').fill('not-the-operator-token');
      await form.getByRole('button', { name: 'Sign in' }).click();
      await form.getByRole('alert').getByText('The server does not accept this token.').waitFor();
      expect(await seriousA11yViolations(page)).toEqual([]);
      await form.getByRole('button', { name: 'Close' }).click();
      await form.waitFor({ state: 'hidden' });
      expect(await page.evaluate(() => sessionStorage.getItem('simmer.operator.v1'))).toBeNull();

      // A token the server refuses on an action (here this device's list holds a wrong one for a job):
      // the refusal is explained on the card, and nothing is sent again.
      const first = card(page, others[0].id);
      await page.evaluate(
        ([key, id]) => localStorage.setItem(key!, JSON.stringify([{ id, token: 'a-token-that-is-not-this-jobs' }])),
        ['simmer.my-jobs.v2', others[0].id],
      );
      await page.reload();
      const sent: string[] = [];
      page.on('request', (req) => {
        if (req.url().includes(`/jobs/${others[0].id}/`)) sent.push(req.url());
      });
      const refused = page.waitForResponse((res) => res.url().endsWith(`/jobs/${others[0].id}/cancel`));
      await first.getByRole('button', { name: 'Cancel' }).click();
      expect((await refused).status()).toBe(403);
      await first.getByText("Refused: the server does not accept this device's token for the job.").waitFor();
      expect((await getJob(server.url, others[0].id)).job?.status).toBe('pending');
      expect(sent).toHaveLength(1);
      expect(await seriousA11yViolations(page)).toEqual([]);
      await page.evaluate(() => localStorage.removeItem('simmer.my-jobs.v2'));
      await page.reload();
      await first.waitFor();
      expect(await actionsOf(first).count()).toBe(0);

      await signIn(page, OPERATOR_TOKEN);
      for (const job of others) await expect.poll(() => actionsOf(card(page, job.id)).count()).toBe(3);
      const cancelled = page.waitForResponse((res) => res.url().endsWith(`/jobs/${others[0].id}/cancel`));
      await first.getByRole('button', { name: 'Cancel' }).click();
      expect((await cancelled).request().headers().authorization).toBe(`Bearer ${OPERATOR_TOKEN}`);
      await expect.poll(() => first.getAttribute('data-status')).toBe('cancelled');
      expect((await getJob(server.url, others[0].id)).job?.status).toBe('cancelled');
      await card(page, others[1].id).getByRole('button', { name: 'Delete' }).click();
      await card(page, others[1].id).getByRole('button', { name: 'Yes, delete' }).click();
      await expect.poll(async () => (await getJob(server.url, others[1].id)).status).toBe(404);
      await screenshot(page, 'operator');

      // The sign-in lasts for this tab's session: a reload keeps it, a new tab does not have it.
      await page.reload();
      await page.locator('header').getByRole('button', { name: 'Operator: sign out' }).waitFor();
      const tab = await context.newPage();
      await tab.goto(server.url);
      await tab.locator('header').getByRole('button', { name: 'Operator sign-in' }).waitFor();
      await card(tab, others[0].id).waitFor();
      expect(await actionsOf(card(tab, others[0].id)).count()).toBe(0);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('finds a job by its short id when its card is on a page not loaded, and opens its detail', async () => {
    const oldest = await createElsewhere(server.url);
    await seedJobs(server.url, 150, 16);
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const problems = watchPageErrors(page);
      await page.goto(server.url);
      await page.locator('article[data-job-id]').first().waitFor();
      expect(await card(page, oldest.id).count()).toBe(0);

      const search = page.getByRole('searchbox', { name: 'Find a job' });
      await search.fill('nothing');
      await search.press('Enter');
      await page.getByText('Type a job’s id, or the six characters after # on its card.').waitFor();
      await search.fill(`#${shortIdOf(oldest.id).toUpperCase()}`);
      await search.press('Enter');
      const dialog = page.getByRole('dialog', { name: `Job #${shortIdOf(oldest.id)}` });
      await dialog.waitFor();
      expect(await dialog.locator('code').textContent()).toBe(oldest.id);
      expect(new URL(page.url()).searchParams.get('job')).toBe(oldest.id);
      await dialog.getByText('Waiting', { exact: true }).waitFor();

      // The address is shareable: it opens the same detail on a fresh load.
      const shared = await context.newPage();
      await shared.goto(page.url());
      await shared.getByRole('dialog', { name: `Job #${shortIdOf(oldest.id)}` }).waitFor();
      expect(await seriousA11yViolations(shared)).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows cancelled jobs under their own filter, in light and dark mode', async () => {
    // Two more, cancelled by an operator over the API, so the picture shows a few.
    for (let i = 0; i < 2; i++) {
      const { id } = await createElsewhere(server.url);
      const res = await fetch(`${server.url}/jobs/${id}/cancel`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` },
      });
      expect(res.status).toBe(200);
    }
    for (const scheme of ['light', 'dark'] as const) {
      const context = await newContext(browser, { colorScheme: scheme });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/?status=cancelled`);
        await expect.poll(() => page.locator('article[data-status="cancelled"]').count()).toBe(3);
        expect(await page.getByRole('button', { name: /^Cancelled/ }).getAttribute('aria-pressed')).toBe('true');
        expect(await seriousA11yViolations(page)).toEqual([]);
        await page.mouse.move(0, 0);
        await screenshot(page, scheme === 'light' ? 'cancelled' : 'cancelled-dark');
      } finally {
        await context.close();
      }
    }
  });
});

async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('header').getByRole('button', { name: 'Operator sign-in' }).click();
  const dialog = page.getByRole('dialog', { name: 'Operator sign-in' });
  await dialog.getByLabel('Operator token').fill(token);
  await dialog.getByRole('button', { name: 'Sign in' }).click();
  await dialog.waitFor({ state: 'hidden' });
}
