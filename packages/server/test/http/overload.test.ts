import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OVERLOAD_LIMITS } from '../../src/http/limits/overload.js';
import { buildTestApp, type TestApp } from './test-app.js';

/** Lags the event loop, as CPU-bound work would: 300 ms busy at a time, until stopped. */
function lagEventLoop(): { stop: () => Promise<void> } {
  let lagging = true;
  const done = (async () => {
    while (lagging) {
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // busy
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  })();
  return {
    stop: async () => {
      lagging = false;
      await done;
    },
  };
}

describe('overload shedding', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers 503 with Retry-After while the event loop lags, keeps /healthz, /readyz and /metrics, and recovers', async () => {
    t = await buildTestApp({ overload: { ...DEFAULT_OVERLOAD_LIMITS, maxEventLoopDelayMs: 200, sampleIntervalMs: 100 } });
    const create = async () => (await t!.app.inject({ method: 'POST', url: '/jobs' })).statusCode;
    // Building the app (and the runner around it) may itself lag the loop for a sample.
    await expect.poll(create, { timeout: 5_000, interval: 150 }).toBe(202);

    const lag = lagEventLoop();
    let refused;
    try {
      await expect.poll(create, { timeout: 10_000, interval: 50 }).toBe(503);
      refused = await t.app.inject({ method: 'POST', url: '/jobs' });
      expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await lag.stop();
    }
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/overloaded/) });
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="event_loop_delay"\} [1-9]/m);

    // A quiet sample later, it serves again.
    await expect.poll(create, { timeout: 5_000, interval: 150 }).toBe(202);
  });

  for (const heapFull of [false, true]) {
    it(`does not count the start's own work before ready as overload${heapFull ? ', yet still refuses for a full heap' : ''}`, async () => {
      // A low limit that a loop blocked for a whole sample interval passes whatever else the sample holds.
      const overload = { ...DEFAULT_OVERLOAD_LIMITS, maxEventLoopDelayMs: 20, sampleIntervalMs: 1_000 };
      t = await buildTestApp({ overload: heapFull ? { ...overload, maxHeapUsedBytes: 1 } : overload });
      // Work the start does before ready (as compiling every route's schemas is), slow as on a busy host.
      await t.app.register(async () => {
        const until = performance.now() + 1_000;
        while (performance.now() < until) {
          // busy
        }
      });
      await t.app.ready();
      // The process measures itself as lagging, and still serves.
      await expect.poll(() => t!.app.overloadSample().eventLoopDelayMs, { timeout: 5_000, interval: 10 }).toBeGreaterThan(20);
      expect((await t.app.inject({ method: 'POST', url: '/jobs' })).statusCode).toBe(heapFull ? 503 : 202);
      const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).not.toMatch(/^simmer_requests_refused_total\{reason="event_loop_delay"\}/m);
      if (heapFull) expect(metrics).toMatch(/^simmer_requests_refused_total\{reason="heap"\} 1$/m);
    });
  }

  it('answers 503 while the heap is past its limit', async () => {
    t = await buildTestApp({ overload: { ...DEFAULT_OVERLOAD_LIMITS, maxHeapUsedBytes: 1, sampleIntervalMs: 100 } });
    // Refused from the first sample that sees the heap.
    await expect.poll(async () => (await t!.app.inject({ method: 'POST', url: '/jobs' })).statusCode, { interval: 20 }).toBe(503);
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^simmer_requests_refused_total\{reason="heap"\} 1$/m);
  });
});
