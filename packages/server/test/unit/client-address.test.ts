import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { createDemoSource } from '../../src/images/demo/demo-source.js';
import { createMetrics } from '../../src/metrics.js';
import { openStore } from '../../src/store/open-store.js';
import type { JobStore } from '../../src/store/job-store.js';

const logger = pino({ level: 'silent' });

/** Who the client is, as the per-client limits see it: one create a minute, so a second from the same client is refused. */
describe.each([
  { trust: '', from: '198.51.100.1', spoofed: true },
  { trust: '1', from: '198.51.100.1', spoofed: false },
  { trust: '198.51.100.0/24', from: '198.51.100.1', spoofed: false },
  { trust: '198.51.100.0/24', from: '192.0.2.1', spoofed: true },
])('TRUST_PROXY=$trust, a request from $from', ({ trust, from, spoofed }) => {
  let dataDir: string;
  let store: JobStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'simmer-client-address-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      TRUST_PROXY: trust,
      RATE_LIMIT_CREATES: '1',
      JOB_DELAY_MIN_MS: '3600000',
      JOB_DELAY_MAX_MS: '3600000',
    });
    store = await openStore(config, logger, (error) => {
      throw error;
    });
    app = await buildApp({ config, store, imageSource: createDemoSource(), clock: systemClock, logger, metrics: createMetrics() });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const create = (forwardedFor: string) =>
    app.inject({ method: 'POST', url: '/jobs', remoteAddress: from, headers: { 'x-forwarded-for': forwardedFor } });

  it(
    spoofed ? 'ignores X-Forwarded-For: the peer is the client' : 'believes X-Forwarded-For: each forwarded client counts for itself',
    async () => {
      expect((await create('203.0.113.1')).statusCode).toBe(202);
      expect((await create('203.0.113.1')).statusCode).toBe(429);
      expect((await create('203.0.113.2')).statusCode).toBe(spoofed ? 429 : 202);
    },
  );
});
