import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_IMAGE, docker, healthOf, IMAGE, statusOf, waitUntil } from './docker.js';

interface Job {
  id: string;
  status: string;
}

/** Packages a runtime image must not hold: compilers, test runners, bundlers, linters, browser drivers. */
const BUILD_ONLY_PACKAGES = ['typescript', 'vitest', 'vite', 'eslint', 'playwright-core', 'rolldown', 'tsx'];

describe('the image', () => {
  it(`adds at most 80 MB to ${BASE_IMAGE} and holds no build or test tooling`, async () => {
    const [size, base] = await Promise.all([
      docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE]),
      docker(['image', 'inspect', '-f', '{{.Size}}', BASE_IMAGE]),
    ]);
    const added = Number(size) - Number(base);
    console.log(`image: ${(Number(size) / 1e6).toFixed(1)} MB, ${(added / 1e6).toFixed(1)} MB over ${BASE_IMAGE}`);
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(80e6);

    // What the image adds is under /app (the base image's own npm is not ours to judge).
    const found = await docker([
      'run',
      '--rm',
      '--user',
      'root',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      `find /app -type d \\( ${BUILD_ONLY_PACKAGES.map((name) => `-name ${name}`).join(' -o ')} \\) -print`,
    ]);
    expect(found.split('\n').filter((line) => line !== '')).toEqual([]);
    // The server's own dependencies are there (the check above would pass on an empty image).
    expect(await docker(['run', '--rm', '--entrypoint', 'ls', IMAGE, 'node_modules/fastify/package.json'])).toContain('fastify');
  });

  it('declares a health check, a non-root user and the /data volume', async () => {
    const config = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', IMAGE])) as {
      Healthcheck?: { Test: string[] };
      User: string;
      Volumes: Record<string, unknown>;
      ExposedPorts: Record<string, unknown>;
    };
    expect(config.Healthcheck?.Test.join(' ')).toContain('healthcheck.js');
    expect(config.User).not.toBe('');
    expect(config.User).not.toBe('root');
    expect(Object.keys(config.Volumes)).toEqual(['/data']);
    expect(Object.keys(config.ExposedPorts)).toEqual(['3000/tcp']);
  });
});

describe('a container of the image (read-only root, tmpfs /tmp, a volume at /data)', () => {
  const name = `simmer-test-${randomUUID().slice(0, 8)}`;
  const volume = `${name}-data`;
  let base = '';

  /** The published port can change on a restart: read it each time. */
  async function locate(): Promise<string> {
    const mapping = await docker(['port', name, '3000/tcp']);
    const port = /:(\d+)\s*$/m.exec(mapping)?.[1];
    if (!port) throw new Error(`no published port: ${mapping}`);
    base = `http://127.0.0.1:${port}`;
    return base;
  }

  async function ready(): Promise<void> {
    await locate();
    await waitUntil('GET /readyz answers 200', async () => ((await statusOf(`${base}/readyz`)) === 200 ? true : undefined), 60_000);
  }

  async function getJob(id: string): Promise<Job | undefined> {
    const response = await fetch(`${base}/jobs/${id}`);
    return response.status === 200 ? ((await response.json()) as Job) : undefined;
  }

  async function allSettled(ids: string[]): Promise<void> {
    await waitUntil(
      `${ids.length} jobs resolved`,
      async () => {
        for (const id of ids) if ((await getJob(id))?.status !== 'resolved') return undefined;
        return true;
      },
      60_000,
      500,
    );
  }

  beforeAll(async () => {
    await docker([
      'run',
      '--detach',
      '--name',
      name,
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--volume',
      `${volume}:/data`,
      '--publish',
      '127.0.0.1::3000',
      '--env',
      'RATE_LIMIT_CREATES=0',
      '--env',
      'JOB_DELAY_MIN_MS=0',
      '--env',
      'JOB_DELAY_MAX_MS=1000',
      '--env',
      'JOB_DELAY_STEP_MS=500',
      IMAGE,
    ]);
    await ready();
  });

  afterAll(async () => {
    await docker(['rm', '--force', '--volumes', name]).catch(() => undefined);
    await docker(['volume', 'rm', '--force', volume]).catch(() => undefined);
  });

  it('runs as a user other than root, and turns healthy', async () => {
    expect(await docker(['exec', name, 'id', '-u'])).not.toBe('0');
    // The server process itself (pid 1), not only a shell started beside it.
    expect(await docker(['exec', name, 'sh', '-c', "awk '/^Uid:/ { print $2 }' /proc/1/status"])).not.toBe('0');
    // Docker runs the first check one interval (10 s) after the start.
    await waitUntil('the container is healthy', async () => ((await healthOf(name)) === 'healthy' ? true : undefined), 90_000, 500);
  });

  it('serves the page, and jobs created through the published port resolve', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<div id="root">');

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${base}/jobs`, { method: 'POST' });
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as Job).id);
    }
    await allSettled(ids);
  });

  it('loses no acknowledged job to docker kill (SIGKILL) during a burst of creates, and a restart', async () => {
    const acknowledged: string[] = [];
    let stop = false;
    const burst = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          const response = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'idempotency-key': randomUUID() } });
          if (response.status === 202) acknowledged.push(((await response.json()) as Job).id);
        } catch {
          return; // the container is gone
        }
      }
    });
    await waitUntil('100 creates acknowledged', async () => (acknowledged.length >= 100 ? true : undefined), 60_000, 20);
    await docker(['kill', name]);
    stop = true;
    await Promise.all(burst);
    expect(await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', name])).toBe('false 137');

    await docker(['start', name]);
    await ready();
    const missing: string[] = [];
    for (const id of acknowledged) if ((await getJob(id)) === undefined) missing.push(id);
    expect(missing).toEqual([]);
    await allSettled(acknowledged);
  });

  it('stops on docker stop (SIGTERM) with exit code 0 within its 10 s', async () => {
    await fetch(`${base}/jobs`, { method: 'POST' });
    // docker stop sends SIGKILL after 10 s, which would show as exit code 137.
    await docker(['stop', '--time', '10', name], { timeoutMs: 30_000 });
    expect(await docker(['inspect', '-f', '{{.State.ExitCode}} {{.State.OOMKilled}}', name])).toBe('0 false');
    expect(await docker(['logs', '--tail', '5', name])).toContain('shut down cleanly');
  });
});
