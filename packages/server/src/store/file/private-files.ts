import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';

/**
 * Data files are private to the server's user: directories 0700, files 0600. The umask can only
 * take bits away, and an odd one (0277) would leave the owner unable to write, so modes are set
 * explicitly after creating rather than trusted to the umask.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and its parents) if needed and makes `dir` itself private, also when an older version made it 0755. */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

/** Opens a file with `flags` (creating it 0600 when the flags create) and makes sure it is 0600. */
export async function openPrivate(path: string, flags: string | number): Promise<FileHandle> {
  const handle = await open(path, flags, PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** fsyncs a directory so that files created, renamed or removed in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
