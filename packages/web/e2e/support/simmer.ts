import { startServerProcess, type ServerProcess } from '@simmer/testkit/server-process';
import type { Job, Stats } from '@simmer/contracts';

/** Short delays so jobs resolve within seconds: 2–6 s in 1 s steps. */
export const FAST_DELAYS = { JOB_DELAY_MIN_MS: '2000', JOB_DELAY_MAX_MS: '6000', JOB_DELAY_STEP_MS: '1000' };

/** The real built server (packages/server/dist) serving the built page (packages/web/dist) on an ephemeral port. */
export async function startSimmer(env: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  return startServerProcess({ env: { ...FAST_DELAYS, ...env } });
}

export async function getStats(base: string): Promise<Stats> {
  const res = await fetch(`${base}/stats`);
  if (!res.ok) throw new Error(`GET /stats: ${res.status}`);
  return (await res.json()) as Stats;
}

/** Every job on the server, following the Link header (the API's own pagination). */
export async function listAllJobs(base: string): Promise<Job[]> {
  const jobs: Job[] = [];
  let next: string | null = '/jobs?limit=1000';
  while (next) {
    const res: Response = await fetch(new URL(next, base));
    if (!res.ok) throw new Error(`GET ${next}: ${res.status}`);
    jobs.push(...((await res.json()) as Job[]));
    next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
  }
  return jobs;
}

/** Creates `count` jobs over the API, `concurrency` requests at a time. */
export async function seedJobs(base: string, count: number, concurrency = 64): Promise<void> {
  let made = 0;
  const worker = async () => {
    while (made < count) {
      made += 1;
      const res = await fetch(`${base}/jobs`, { method: 'POST' });
      if (res.status !== 202) throw new Error(`POST /jobs: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Resolves when `check` passes, polling every `intervalMs`; for state that lives in another process. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
