import { startPostgres, type ThrowawayPostgres } from '@simmer/testkit/postgres';
import { afterAll, beforeAll } from 'vitest';

export interface FilePostgres {
  /**
   * The file's server (for outage tests: `stopServer`, `start`, `restart`). It runs from the file's
   * beforeAll to its afterAll, so use it in tests and hooks, not while the file is collected.
   */
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

  const running = (): ThrowawayPostgres => {
    if (!started) throw new Error('the PostgreSQL server starts in beforeAll: use it in tests and hooks');
    return started;
  };
  // Stands for the server before it exists, so a file can name it at the top as it always did.
  const server: ThrowawayPostgres = {
    get url() {
      return running().url;
    },
    get port() {
      return running().port;
    },
    get dataDir() {
      return running().dataDir;
    },
    stop: () => running().stop(),
    restart: (options) => running().restart(options),
    stopServer: (mode) => running().stopServer(mode),
    start: () => running().start(),
    createDatabase: (name) => running().createDatabase(name),
  };

  return {
    server,
    freshDatabase: () => {
      databases += 1;
      return server.createDatabase(`${prefix}_${process.pid}_${databases}`);
    },
  };
}
