/**
 * The container tests' global setup: Docker (installed, dockerd started when it is not running,
 * stand-ins for base images no registry can give: scripts/ensure-docker.sh) and the image built
 * from the repository's Dockerfile, as a user behind this machine's TLS-inspecting proxy builds it
 * (the proxy's CA as the BuildKit secret `ca`). Stops dockerd afterwards if it started it.
 */

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOCKER, IMAGE, ROOT } from './docker.js';

const run = promisify(execFile);
const PIDFILE = '/run/simmer-dockerd.pid';

export default async function setup(): Promise<() => Promise<void>> {
  const ensured = await run('bash', [join(ROOT, 'scripts/ensure-docker.sh')], {
    env: { ...process.env, DOCKER, SIMMER_DOCKERD_PIDFILE: PIDFILE },
    timeout: 900_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`scripts/ensure-docker.sh failed: ${error.stderr ?? error.message}`);
  });
  const startedDockerd = ensured.stdout.trim().split('\n').at(-1) === 'started';

  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const secret = ca && existsSync(ca) ? ['--secret', `id=ca,src=${ca}`] : [];
  const started = performance.now();
  await run(DOCKER, ['build', ...secret, '-t', IMAGE, ROOT], {
    env: { ...process.env, DOCKER_BUILDKIT: '1' },
    timeout: 900_000,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`docker build failed: ${(error.stderr ?? error.message).slice(-4000)}`);
  });
  console.log(`container tests: built ${IMAGE} in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  return async () => {
    if (!startedDockerd || !existsSync(PIDFILE)) return;
    const pid = Number(readFileSync(PIDFILE, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 150; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
}
