/**
 * The container tests' hands on Docker: the engine's CLI and Compose as child processes, the image
 * that setup.ts builds, and small waits. Everything they reach is on 127.0.0.1.
 */

import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root: the build context and where the Compose files are. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The engine's own CLI (Debian's docker.io): another `docker` earlier on PATH may lack BuildKit's client. */
export const DOCKER = process.env.DOCKER ?? '/usr/bin/docker';
/** The image setup.ts builds from the repository's Dockerfile. */
export const IMAGE = 'simmer:test';
/** The official base image the Dockerfile names (a local stand-in on machines without a registry). */
export const BASE_IMAGE = 'node:20-bookworm-slim';

export async function docker(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run(DOCKER, args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout.trim();
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`docker ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim().slice(-2000)}`, {
      cause: error,
    });
  }
}

/** docker-compose (1.29, Debian's) with a project name of its own and the given variables. */
export async function compose(
  project: string,
  file: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<string> {
  try {
    const { stdout } = await run('docker-compose', ['--no-ansi', '-p', project, '-f', file, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`docker-compose ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim().slice(-3000)}`, {
      cause: error,
    });
  }
}

/** A port free on 127.0.0.1 just now, for a container to publish on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
    server.on('error', reject);
  });
}

/**
 * Polls `probe` until it returns a value other than undefined (Docker's states have no push signal
 * here); throws after `timeoutMs` with the last value or error seen.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** GET `url` → its status, or undefined when nothing answers. */
export async function statusOf(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

export async function healthOf(container: string): Promise<string> {
  return docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', container]);
}
