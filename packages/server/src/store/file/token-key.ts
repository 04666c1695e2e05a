import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { openPrivate, syncDir } from './private-files.js';

/** The control tokens' secret (see JobStore.tokenKey), beside the journals: private, like them. */
export const TOKEN_KEY_FILE = 'control-token.key';
const KEY_BYTES = 32;

/**
 * Reads DATA_DIR's token key, making it on first use: written to a temporary file, fsynced,
 * renamed into place and the directory fsynced, so a crash leaves the whole key or none (recovery
 * removes a leftover `.tmp`). The caller holds the data directory's lock, so no one races it.
 */
export async function loadTokenKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, TOKEN_KEY_FILE);
  try {
    const key = await readFile(path);
    if (key.length !== KEY_BYTES)
      throw new Error(`${path} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key: restore it from a backup`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(KEY_BYTES);
  const tempPath = `${path}.tmp`;
  const handle = await openPrivate(tempPath, 'w');
  try {
    await handle.writeFile(key);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, path);
  await syncDir(dataDir);
  return key;
}
