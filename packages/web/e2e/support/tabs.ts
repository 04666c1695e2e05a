import { expect } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { Job } from '@simmer/contracts';
import { connectSse, type SseStream } from '@simmer/testkit/sse-client';
import { watchPageErrors } from './browser';
import { getStats } from './simmer';

/** What a tab says about its share of the event stream (`window.simmer.live()`, see live-updates.ts). */
export interface LiveDebug {
  role: 'solo' | 'leader' | 'follower';
  applied: number[];
}

export const live = (page: Page): Promise<LiveDebug> =>
  page.evaluate(() => (window as unknown as { simmer: { live: () => LiveDebug } }).simmer.live());

/** Opens `count` more tabs of the board in `context`, each waiting until it shows it is live. */
export async function openTabs(context: BrowserContext, url: string, count: number, problems: string[]): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    problems.push(...watchPageErrors(page));
    // A page stuck behind the browser's 6 connections per host never gets here (goto times out).
    await page.goto(url, { timeout: 20_000 });
    await page.locator('.connection[data-state="live"]').waitFor({ timeout: 20_000 });
    pages.push(page);
  }
  return pages;
}

export async function roles(pages: Page[]): Promise<string[]> {
  return (await Promise.all(pages.map(live))).map((debug) => debug.role).sort();
}

/** Every job change the server sends from now on, in its order, as a client of its own hears it. */
export interface ChangeRecorder {
  /** The sequence number the recording starts after. */
  from: number;
  sent: { seq: number; id: string }[];
  close(): void;
}

export async function recordChanges(url: string): Promise<ChangeRecorder> {
  const from = (await getStats(url)).lastSeq;
  const sent: { seq: number; id: string }[] = [];
  const stream: SseStream = await connectSse(`${url}/events?after=${from}`, {
    onEvent: (event) => {
      if (event.event === 'job' && event.id) sent.push({ seq: Number(event.id), id: (JSON.parse(event.data) as Job).id });
    },
  });
  return { from, sent, close: () => stream.close() };
}

/**
 * A tab applied each change at most once, in order, and missed none: a change it did not apply was
 * collapsed into a later change of the same job (a resumed stream replays each job's latest change
 * only). Returns how many of the recorded changes the tab applied.
 */
export function expectEachChangeOnce(appliedSeqs: readonly number[], recorder: ChangeRecorder): number {
  const { from, sent } = recorder;
  const applied = appliedSeqs.filter((seq) => seq > from);
  for (let i = 1; i < applied.length; i++) expect(applied[i]).toBeGreaterThan(applied[i - 1]!);
  const jobOf = new Map(sent.map((change) => [change.seq, change.id]));
  for (const seq of applied) expect(jobOf.has(seq)).toBe(true);
  const appliedSet = new Set(applied);
  const latestApplied = new Map<string, number>();
  for (const seq of applied) latestApplied.set(jobOf.get(seq)!, seq);
  const missed = sent.filter((change) => !appliedSet.has(change.seq) && !((latestApplied.get(change.id) ?? -1) > change.seq));
  expect(missed).toEqual([]);
  return applied.length;
}

/** `/events` streams open at the server now (its `simmer_event_streams` gauge; `/metrics` answers loopback). */
export async function openEventStreams(url: string): Promise<number> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const line = /^simmer_event_streams(?:\{[^}]*\})? (\d+)$/m.exec(await res.text());
  if (!line) throw new Error('no simmer_event_streams in /metrics');
  return Number(line[1]);
}
