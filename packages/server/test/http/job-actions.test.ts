import { Writable } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, type CreatedJob, type Job, type Photo, type Stats } from '@simmer/contracts';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ImageSource } from '../../src/images/image-source.js';
import { fakeImageSource, fakePhoto } from './fake-image-source.js';
import { buildTestApp, type TestApp } from './test-app.js';

const OPERATOR_TOKEN = 'operator-token-for-tests-0123456789';
type Method = 'POST' | 'DELETE';
const ACTIONS = ['cancel', 'run', 'retry'] as const;

/** Sends an action: `POST /jobs/{id}/<action>`, or `DELETE /jobs/{id}` for 'delete'. */
function act(t: TestApp, action: (typeof ACTIONS)[number] | 'delete', id: string, token?: string, headers: Record<string, string> = {}) {
  const method: Method = action === 'delete' ? 'DELETE' : 'POST';
  const url = action === 'delete' ? `/jobs/${id}` : `/jobs/${id}/${action}`;
  return t.app.inject({ method, url, headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers } });
}

async function create(t: TestApp, key?: string): Promise<CreatedJob> {
  const response = await t.app.inject({ method: 'POST', url: '/jobs', headers: key ? { 'idempotency-key': key } : {} });
  expect(response.statusCode).toBe(202);
  return response.json<CreatedJob>();
}

describe('acting on jobs: rights and answers (in-process)', () => {
  let t: TestApp;
  const logLines: string[] = [];

  beforeAll(async () => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    t = await buildTestApp({ env: { OPERATOR_TOKEN, LOG_LEVEL: 'trace', RATE_LIMIT_ACTIONS: '0' }, logStream });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('gives a control token with every create, the same one on an idempotent replay, and a different one per job', async () => {
    const first = await create(t, 'actions-replay');
    const replay = await t.app.inject({ method: 'POST', url: '/jobs', headers: { 'idempotency-key': 'actions-replay' } });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<CreatedJob>()).toEqual(first);
    expect(first.controlToken).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const other = await create(t);
    expect(other.controlToken).not.toBe(first.controlToken);
  });

  it('answers every action without credentials 401, with a token that is neither the job’s nor the operator’s 403', async () => {
    const job = await create(t);
    const other = await create(t);
    for (const action of [...ACTIONS, 'delete'] as const) {
      const none = await act(t, action, job.id);
      expect(none.statusCode, action).toBe(401);
      expect(none.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="jobs"');
      expect((await act(t, action, job.id, undefined, { authorization: `Basic ${job.controlToken}` })).statusCode).toBe(401);
      for (const wrong of [other.controlToken, `${job.controlToken}x`, job.controlToken.slice(1), 'null', OPERATOR_TOKEN.toUpperCase()]) {
        const refused = await act(t, action, job.id, wrong);
        expect(refused.statusCode, `${action} with ${wrong}`).toBe(403);
        expect(refused.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
      }
    }
    expect((await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>().status).toBe('pending');
  });

  it('refuses another site’s Origin with 403 even with the right token, and takes the page’s own', async () => {
    const job = await create(t);
    for (const action of [...ACTIONS, 'delete'] as const) {
      const refused = await act(t, action, job.id, job.controlToken, { origin: 'https://evil.example' });
      expect(refused.statusCode, action).toBe(403);
      expect(refused.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    }
    expect((await act(t, 'run', job.id, job.controlToken, { origin: 'http://localhost:3000', host: 'localhost:3000' })).statusCode).toBe(
      200,
    );
  });

  it('answers 400 for a malformed id, 404 for an unknown one, and 404 for a deleted job to its own token', async () => {
    for (const action of [...ACTIONS, 'delete'] as const) {
      expect((await act(t, action, 'not-a-job', OPERATOR_TOKEN)).statusCode, action).toBe(400);
      const unknown = await act(t, action, uuidv7(), OPERATOR_TOKEN);
      expect(unknown.statusCode, action).toBe(404);
      expect(unknown.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    }
    const job = await create(t);
    expect((await act(t, 'delete', job.id, job.controlToken)).statusCode).toBe(204);
    for (const action of [...ACTIONS, 'delete'] as const) expect((await act(t, action, job.id, job.controlToken)).statusCode).toBe(404);
  });

  it('refuses a body other than none or `{}` (400) and a content type other than JSON (415), changing nothing', async () => {
    const job = await create(t);
    const auth = { authorization: `Bearer ${job.controlToken}` };
    const withBody = await t.app.inject({
      method: 'POST',
      url: `/jobs/${job.id}/cancel`,
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"force":true}',
    });
    expect(withBody.statusCode).toBe(400);
    const form = await t.app.inject({
      method: 'POST',
      url: `/jobs/${job.id}/cancel`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1',
    });
    expect(form.statusCode).toBe(415);
    expect((await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>().status).toBe('pending');
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: `/jobs/${job.id}/cancel`,
          headers: { ...auth, 'content-type': 'application/json' },
          payload: '{}',
        })
      ).statusCode,
    ).toBe(200);
    expect((await t.app.inject({ method: 'PUT', url: `/jobs/${job.id}/cancel`, headers: auth })).statusCode).toBe(404);
  });

  it('cancels a pending job (200, cancelled), again 200 unchanged; run and cancel then 409; retry brings it back, due now', async () => {
    const job = await create(t);
    const cancel = await act(t, 'cancel', job.id, job.controlToken);
    expect(cancel.statusCode).toBe(200);
    const cancelled = cancel.json<Job>();
    expect(cancelled).toMatchObject({ id: job.id, status: 'cancelled', resolvedAt: new Date(t.clock.now()).toISOString(), attempts: [] });
    expect(cancelled).not.toHaveProperty('controlToken');
    const again = await act(t, 'cancel', job.id, job.controlToken);
    expect(again.statusCode).toBe(200);
    expect(again.json<Job>()).toEqual(cancelled);

    const run = await act(t, 'run', job.id, job.controlToken);
    expect(run.statusCode).toBe(409);
    expect(run.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    expect(run.json<{ detail: string }>().detail).toContain('cancelled');

    t.clock.advance(1_000);
    const retry = await act(t, 'retry', job.id, job.controlToken);
    expect(retry.statusCode).toBe(200);
    expect(retry.json<Job>()).toMatchObject({ status: 'pending', runAt: new Date(t.clock.now()).toISOString(), resolvedAt: null });
    expect((await act(t, 'retry', job.id, job.controlToken)).statusCode).toBe(409);
  });

  it('runs a pending job now: 200, due now', async () => {
    const job = await create(t);
    const run = await act(t, 'run', job.id, job.controlToken);
    expect(run.statusCode).toBe(200);
    expect(run.json<Job>()).toMatchObject({ status: 'pending', runAt: new Date(t.clock.now()).toISOString() });
  });

  it('lets the operator act on every job, and deletes: 204, then 404 and a removal in the change feed', async () => {
    const job = await create(t);
    const mark = await t.store.lastSeq();
    expect((await act(t, 'cancel', job.id, OPERATOR_TOKEN)).statusCode).toBe(200);
    const deleted = await act(t, 'delete', job.id, OPERATOR_TOKEN);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect((await t.app.inject({ url: `/jobs/${job.id}` })).statusCode).toBe(404);
    const { changes } = await t.store.changesSince(mark, 10);
    expect(changes.at(-1)).toMatchObject({ kind: 'removed', id: job.id });
  });

  it('counts cancelled jobs in /stats and lists them with ?status=cancelled', async () => {
    const job = await create(t);
    const before = (await t.app.inject({ url: '/stats' })).json<Stats>().counts.cancelled;
    await act(t, 'cancel', job.id, job.controlToken);
    expect((await t.app.inject({ url: '/stats' })).json<Stats>().counts.cancelled).toBe(before + 1);
    const list = await t.app.inject({ url: '/jobs?status=cancelled&limit=1000' });
    expect(list.statusCode).toBe(200);
    expect(list.json<Job[]>().map((j) => j.id)).toContain(job.id);
    expect(list.json<Job[]>().every((j) => j.status === 'cancelled')).toBe(true);
  });

  it('finds a job by its full id or its short id (either case), and nothing for an unknown one', async () => {
    const job = await create(t);
    const short = job.id.slice(-6);
    for (const q of [job.id, short, short.toUpperCase(), job.id.toUpperCase()]) {
      const found = await t.app.inject({ url: `/jobs?q=${q}` });
      expect(found.statusCode, q).toBe(200);
      expect(found.json<Job[]>().map((j) => j.id)).toContain(job.id);
    }
    expect((await t.app.inject({ url: `/jobs?q=${short}&status=failed` })).json<Job[]>()).toEqual([]);
    expect((await t.app.inject({ url: `/jobs?q=${uuidv7()}` })).json<Job[]>()).toEqual([]);
    for (const bad of ['12345', '1234567', 'zzzzzz', 'not-an-id', `${job.id}0`]) {
      const refused = await t.app.inject({ url: `/jobs?q=${bad}` });
      expect(refused.statusCode, bad).toBe(400);
      expect(refused.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    }
  });

  it('shows the control token in the create answer only: no other answer, log line or metric carries it', async () => {
    const job = await create(t);
    const token = job.controlToken;
    const answers = [
      await act(t, 'run', job.id, token),
      await act(t, 'cancel', job.id, token),
      await act(t, 'retry', job.id, token),
      await act(t, 'cancel', job.id, token, { origin: 'https://evil.example' }),
      await act(t, 'cancel', job.id, `${token}x`),
      await t.app.inject({ url: `/jobs/${job.id}` }),
      await t.app.inject({ url: '/jobs?limit=1000' }),
      await t.app.inject({ url: `/jobs?q=${job.id}` }),
      await t.app.inject({ url: '/stats' }),
      await t.app.inject({ url: '/metrics' }),
      await t.app.inject({ url: '/docs/json' }),
    ];
    const { changes } = await t.store.changesSince(0, 10_000);
    expect(changes.length).toBeGreaterThan(0);
    for (const answer of answers) {
      expect(answer.body.length).toBeGreaterThan(0);
      expect(answer.body).not.toContain(token);
      expect(JSON.stringify(answer.headers)).not.toContain(token);
    }
    expect(JSON.stringify(changes)).not.toContain(token);
    expect((await act(t, 'delete', job.id, token)).statusCode).toBe(204);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.some((line) => line.includes('job action'))).toBe(true);
    for (const line of logLines) {
      expect(line).not.toContain(token);
      expect(line).not.toContain(OPERATOR_TOKEN);
    }
  });
});

describe('acting on jobs: the per-client action rate limit (in-process)', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  it('answers 429 with Retry-After past RATE_LIMIT_ACTIONS a minute, counting every action together', async () => {
    t = await buildTestApp({ env: { RATE_LIMIT_ACTIONS: '3' } });
    const job = await create(t);
    expect((await act(t, 'run', job.id, job.controlToken)).statusCode).toBe(200);
    expect((await act(t, 'cancel', job.id, job.controlToken)).statusCode).toBe(200);
    expect((await act(t, 'retry', job.id, job.controlToken)).statusCode).toBe(200);
    const limited = await act(t, 'delete', job.id, job.controlToken);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.headers['content-type']).toContain(PROBLEM_CONTENT_TYPE);
    // Creates have their own limit.
    await create(t);
  });

  it('has no operator when OPERATOR_TOKEN is unset', async () => {
    t = await buildTestApp();
    const job = await create(t);
    for (const guess of ['null', 'undefined', 'operator', OPERATOR_TOKEN])
      expect((await act(t, 'cancel', job.id, guess)).statusCode).toBe(403);
    expect((await act(t, 'cancel', job.id, job.controlToken)).statusCode).toBe(200);
  });
});

/** An image source whose photo calls wait until a test lets them answer, or until aborted. */
function stallingSource(): ImageSource & { calls: { signal: AbortSignal; answer(photo: Photo): void }[] } {
  const base = fakeImageSource();
  const calls: { signal: AbortSignal; answer(photo: Photo): void }[] = [];
  return {
    ...base,
    calls,
    takePhoto: (signal) =>
      new Promise<Photo>((resolve, reject) => {
        calls.push({ signal, answer: resolve });
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
  };
}

describe('acting on a running job (in-process, with the scheduler)', () => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  it('aborts the photo call of a job cancelled while it runs, and writes no outcome after', async () => {
    const source = stallingSource();
    t = await buildTestApp({ imageSource: source, runJobs: true });
    const job = await create(t);
    t.advance(5_000);
    await expect.poll(() => source.calls.length, { timeout: 5_000 }).toBe(1);
    const running = (await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>();
    expect(running).toMatchObject({ status: 'running', attempts: [{ endedAt: null, outcome: null, error: null }] });

    const cancel = await act(t, 'cancel', job.id, job.controlToken);
    expect(cancel.statusCode).toBe(200);
    // In-process, the abort comes with the cancel's answer.
    expect(source.calls[0]!.signal.aborted).toBe(true);
    // A photo that arrives anyway is not written.
    source.calls[0]!.answer(fakePhoto(1));
    const view = cancel.json<Job>();
    expect(view).toMatchObject({ status: 'cancelled', result: null });
    expect(view.attempts).toEqual([
      { startedAt: running.attempts[0]!.startedAt, endedAt: view.resolvedAt, outcome: 'cancelled', error: null },
    ]);
    expect((await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>()).toEqual(view);
  });

  it('aborts the photo call of a running job that is deleted', async () => {
    const source = stallingSource();
    t = await buildTestApp({ imageSource: source, runJobs: true });
    const job = await create(t);
    t.advance(5_000);
    await expect.poll(() => source.calls.length, { timeout: 5_000 }).toBe(1);
    expect((await act(t, 'delete', job.id, job.controlToken)).statusCode).toBe(204);
    expect(source.calls[0]!.signal.aborted).toBe(true);
    expect((await t.app.inject({ url: `/jobs/${job.id}` })).statusCode).toBe(404);
  });

  it('retries a failed job, which then runs and resolves', async () => {
    let failing = true;
    const base = fakeImageSource();
    const { PermanentImageError } = await import('../../src/images/image-source.js');
    const source: ImageSource = {
      ...base,
      takePhoto: async (signal, client) => {
        if (failing) throw new PermanentImageError('unsplash_not_found', 'nothing there');
        return base.takePhoto(signal, client);
      },
    };
    t = await buildTestApp({ imageSource: source, runJobs: true });
    const job = await create(t);
    t.advance(5_000);
    expect(await t.settled(job.id)).toMatchObject({ status: 'failed', error: { code: 'unsplash_not_found' } });
    failing = false;
    const retry = await act(t, 'retry', job.id, job.controlToken);
    expect(retry.statusCode).toBe(200);
    t.advance(0);
    expect(await t.settled(job.id)).toMatchObject({ status: 'resolved' });
    const view = (await t.app.inject({ url: `/jobs/${job.id}` })).json<Job>();
    expect(view.attempts.map((a) => a.outcome)).toEqual(['failed', 'resolved']);
    expect(view.attempts[0]!.error).toMatchObject({ code: 'unsplash_not_found' });
  });
});
