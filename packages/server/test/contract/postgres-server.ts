import { startPostgres, type ThrowawayPostgres } from '@simmer/testkit/postgres';
import { afterAll, beforeAll } from 'vitest';
import { lateBound } from '../late-bound.js';

export interface FilePostgres {
  /** The file's server (for outage tests: `stopServer`, `start`, `restart`), usable in tests and hooks. */
  server: ThrowawayPostgres;
  /** A new empty database of its own for one test: its URL. */
  freshDatabase: () => Promise<string>;
}

/**
 * One throwaway PostgreSQL server for the calling test file, started before its tests and stopped
 * after them; each test takes a fresh database on it, named `<prefix>_<pid>_<n>`.
 */
export function throwawayPostgresPerFile(prefix: string): FilePostgres {
  let started: ThrowawayPostgres | undefined;
  let databases = 0;

  beforeAll(async () => {
    started = await startPostgres();
  });

  afterAll(async () => {
    await started?.stop();
  });

  const server = lateBound('the PostgreSQL server', () => started);
  return {
    server,
    freshDatabase: () => {
      databases += 1;
      return server.createDatabase(`${prefix}_${process.pid}_${databases}`);
    },
  };
}
