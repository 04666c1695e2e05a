import { describe, expect, it } from 'vitest';
import { Refusal } from '../../src/http/limits/refusal.js';
import { StreamCaps } from '../../src/http/limits/stream-caps.js';
import { createMetrics } from '../../src/metrics.js';

/** Refusals counted in /metrics, by reason. */
async function refused(metrics: ReturnType<typeof createMetrics>): Promise<Record<string, number>> {
  const counted: Record<string, number> = {};
  for (const { labels, value } of (await metrics.requestsRefused.get()).values) counted[String(labels.reason)] = value;
  return counted;
}

describe('StreamCaps', () => {
  it('refuses a client past its own cap with 429 and the process past its cap with 503, and frees a slot when a stream ends', async () => {
    const metrics = createMetrics();
    const caps = new StreamCaps({ maxStreams: 3, maxStreamsPerClient: 2, metrics });
    const a1 = caps.take('a');
    caps.take('a');
    expect(() => caps.take('a')).toThrow(expect.objectContaining({ statusCode: 429, retryAfterMs: expect.any(Number) }));
    caps.take('b');
    expect(() => caps.take('c')).toThrow(expect.objectContaining({ statusCode: 503, retryAfterMs: expect.any(Number) }));
    expect(await refused(metrics)).toEqual({ streams_per_client: 1, streams_per_process: 1 });

    // A stream that ends gives its slot back, once, however often it says so.
    a1();
    a1();
    expect(caps.size).toBe(2);
    caps.take('a');
    expect(() => caps.take('a')).toThrow(Refusal);
    expect(caps.size).toBe(3);
  });
});
