import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/** Our packages' `@simmer/source` export condition: tests import their TypeScript sources, so no build is needed first. */
const SOURCE_CONDITION = '@simmer/source';

// One run covers every layer; each project names where its tests live, sorted by what they touch:
// `unit` nothing (no file written, no socket, no process, no real timer), `disk` a real file store
// in a temp dir, `http` the app in-process through `inject`, `socket` loopback sockets in this
// process, `repo` the repository's own files (lint zones, generated files), `contract` both stores
// (PostgreSQL included), `integration` real processes (after `npm run build`), `browser` Chromium.
export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } },
  test: {
    // expect.poll waits for a state; its default bound (1 s) is a speed test in disguise on a busy host.
    expect: { poll: { timeout: 5_000 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/unit/**/*.test.ts', 'packages/web/src/**/*.test.{ts,tsx}'],
          testTimeout: 10_000,
          // Threads that keep their modules between files: these tests leave nothing behind (fake
          // timers are put back after each), and a fresh process and module graph per file cost
          // more than the tests themselves.
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'disk',
          include: ['packages/*/test/disk/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'http',
          include: ['packages/server/test/http/**/*.test.ts'],
          testTimeout: 10_000,
          // As unit: each file builds and closes its own apps (own stores, metrics registries), so
          // the app's modules (Fastify, the demo artwork) are loaded once per thread, not per file.
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'socket',
          include: ['packages/*/test/socket/**/*.test.ts'],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'repo',
          include: ['packages/*/test/repo/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'contract',
          include: ['packages/server/test/contract/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The image, its containers and both Compose files, on a real Docker engine: setup.ts
          // installs Docker and builds the image (minutes the first time on a machine).
          name: 'container',
          include: ['packages/server/test/container/**/*.test.ts'],
          globalSetup: ['packages/server/test/container/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['packages/web/e2e/**/*.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
