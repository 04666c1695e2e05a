import { fileURLToPath } from 'node:url';
import { startServerProcess } from '../../packages/testkit/dist/server-process.js';
import { fire } from '../lib/load.js';

export const name = 'baseline';
export const description = 'a bare node:http server answering ~150 bytes of JSON, in a child process';

/**
 * Starts the bare server in a child process; the run's cleanup stops it.
 * @param {import('../run.js').BenchContext} context
 */
export async function startBareServer(context) {
  const server = await startServerProcess({ entry: fileURLToPath(new URL('../lib/bare-server.js', import.meta.url)) });
  context.defer(() => server.stop());
  return server;
}

/** @param {import('../run.js').BenchContext} context */
export async function run(context) {
  const server = await startBareServer(context);
  const { connections, durationS, warmupS } = context.settings;
  const options = { url: `${server.url}/jobs`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', connections };
  await fire({ ...options, duration: warmupS });
  const result = await fire({ ...options, duration: durationS });
  await server.stop();
  return {
    figures: [
      { key: 'reqPerSec', label: `POST req/s, ${connections} connections`, value: result.reqPerSec, unit: 'req/s' },
      { key: 'p99Ms', label: 'POST p99', value: result.p99Ms, unit: 'ms' },
    ],
    extra: result,
  };
}
