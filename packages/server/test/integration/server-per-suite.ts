import { startServerProcess, type ServerProcess, type ServerProcessOptions } from '@simmer/testkit/server-process';
import { afterAll, beforeAll } from 'vitest';
import { lateBound } from '../late-bound.js';

/**
 * A real server process for the enclosing describe (or file): started in its beforeAll, stopped in
 * its afterAll. Name it once at the top: `const server = serverPerSuite({ env: { ... } })`.
 */
export function serverPerSuite(options: ServerProcessOptions = {}): ServerProcess {
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    server = await startServerProcess(options);
  });

  afterAll(async () => {
    await server?.stop();
  });

  return lateBound('the server process', () => server);
}
