/**
 * Builds the real HTTP app in this process, as main.ts does but without listening: a file store in a
 * temp dir (wrapped so a test can make it refuse calls), a fake image source, a manual clock, and
 * optionally the scheduler. Tests drive it with `app.inject()`: no build, no child process, no port.
 * Crashes, signals, raw sockets and scale-out stay in test/integration with real processes.
 */

import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import type { FastifyInstance } from 'fastify';
import pino, { type DestinationStream } from 'pino';
import { buildApp } from '../../src/app.js';
import { DEFAULT_OVERLOAD_LIMITS, type OverloadLimits } from '../../src/http/limits/overload.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { ImageSource } from '../../src/images/image-source.js';
import { createScheduler } from '../../src/jobs/create-scheduler.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { StoredJob } from '../../src/store/job-store.js';
import { openStore } from '../../src/store/open-store.js';
import { ManualClock } from '../manual-clock.js';
import { fakeImageSource } from './fake-image-source.js';
import { withFaults, type FaultyStore } from './faulty-store.js';

export interface TestAppOptions {
  /** Environment for loadConfig, on top of the helper's (LOG_LEVEL=silent, delays of 1 to 3 s in 1 s steps). */
  env?: Record<string, string>;
  /** Defaults to a fake Unsplash-like source that answers at once. */
  imageSource?: ImageSource;
  /** Directory of a built page to serve at `/`; none by default. */
  webRoot?: string | null;
  /** Also run the scheduler, so due jobs run when the clock is advanced. */
  runJobs?: boolean;
  /** When to shed load; by default only a minute-long event-loop pause would. */
  overload?: OverloadLimits;
  /** Where log lines go (with LOG_LEVEL from `env`); by default nowhere. */
  logStream?: DestinationStream;
}

export interface TestApp {
  app: FastifyInstance;
  config: Readonly<Config>;
  store: FaultyStore;
  clock: ManualClock;
  metrics: Metrics;
  imageSource: ImageSource;
  /** Moves the clock on (firing the timers that fall due) and lets the scheduler (if running) look for due jobs at once. */
  advance(ms: number): void;
  /** Resolves with the job once it is resolved or failed. */
  settled(id: string): Promise<StoredJob>;
  close(): Promise<void>;
}

const TEST_ENV: Record<string, string> = {
  LOG_LEVEL: 'silent',
  JOB_DELAY_MIN_MS: '1000',
  JOB_DELAY_MAX_MS: '3000',
  JOB_DELAY_STEP_MS: '1000',
};

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await makeTempDir('simmer-http-');
  const config = loadConfig({ ...TEST_ENV, ...options.env, DATA_DIR: dataDir }, { webRoot: options.webRoot ?? null });
  const logger = options.logStream ? pino({ level: config.logLevel }, options.logStream) : pino({ level: config.logLevel });
  const metrics = createMetrics();
  const clock = new ManualClock();
  const store = withFaults(
    await openStore(config, logger, (error) => {
      throw error;
    }),
  );
  const imageSource = options.imageSource ?? fakeImageSource();
  // The app shares its event loop with the test runner, whose own pauses (imports, other files)
  // must not read as overload: shedding is tested on a real process, not here.
  const overload = options.overload ?? { ...DEFAULT_OVERLOAD_LIMITS, maxEventLoopDelayMs: 60_000 };
  const app = await buildApp({ config, store, imageSource, clock, logger, metrics, overload, tls: null });
  const scheduler = options.runJobs ? createScheduler(config, { store, imageSource, clock, logger, metrics, owner: 'test' }) : null;
  void scheduler?.start();

  return {
    app,
    config,
    store,
    clock,
    metrics,
    imageSource,
    advance(ms) {
      clock.advance(ms);
      scheduler?.wake();
    },
    async settled(id) {
      for (;;) {
        // Listen before looking, so a commit between the look and the wait is not missed.
        let stopListening = () => {};
        const committed = new Promise<void>((resolve) => {
          stopListening = store.onCommit(() => resolve());
        });
        try {
          const job = await store.getJob(id);
          if (job && (job.status === 'resolved' || job.status === 'failed')) return job;
          await committed;
        } finally {
          stopListening();
        }
      }
    },
    async close() {
      await app.close();
      await scheduler?.stop();
      await imageSource.close();
      await store.close();
      await removeTempDir(dataDir);
    },
  };
}
