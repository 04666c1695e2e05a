import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates a fresh, empty directory under the OS temp dir; its name starts with `prefix`. */
export async function makeTempDir(prefix = 'simmer-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory made by {@link makeTempDir} and everything in it; a missing directory is fine. */
export async function removeTempDir(path: string): Promise<void> {
  // Retries cover a child process that is still releasing files as it exits.
  await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
