// The package ships no types; this reference brings ours along wherever this file is compiled (tests too).
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./fs-native-extensions.d.ts" />
import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tryLock, unlock } from 'fs-native-extensions';
import { openPrivate } from './private-files.js';

const LOCK_FILE = 'LOCK';
/** Reads of the LOCK file, 10 ms apart, before a refusal says "another process". */
const HOLDER_READS = 20;

/** Who holds a data directory, as its LOCK file says. */
export interface LockHolder {
  host: string;
  pid: number;
  since: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder ? `process ${holder.pid} on host ${holder.host} (since ${holder.since})` : 'another process';
    super(
      `DATA_DIR ${dataDir} is in use by ${who}: only one Simmer process may open a data directory. ` +
        'Stop that process first, or give this one its own DATA_DIR.',
    );
    this.name = 'DataDirLockedError';
  }
}

/**
 * Takes the data directory for the life of this process with an operating-system lock: an
 * exclusive open-file-description lock (fcntl F_OFD_SETLK) on DATA_DIR/LOCK. The kernel keeps
 * it on the file, not on a pid, so it holds across PID namespaces and containers sharing the
 * directory on one host; it is released by the kernel when the process dies, however it dies, so
 * a dead holder's lock is free again with no manual step; and taking it is atomic, so of two
 * processes starting at once exactly one wins. The file also names the holder (host, pid) for the
 * refusal message; it is never removed, since removing a lock file lets two processes lock
 * different files of one name. Returns the release function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  const handle = await openPrivate(path, constants.O_RDWR | constants.O_CREAT);
  try {
    if (!tryLock(handle.fd)) throw new DataDirLockedError(dataDir, await readHolder(path));
    const holder: LockHolder = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
    await handle.truncate(0);
    await handle.write(`${JSON.stringify(holder)}\n`, 0);
    await handle.datasync();
  } catch (error) {
    await handle.close();
    throw error;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    unlock(handle.fd);
    await handle.close();
  };
}

/**
 * The holder names itself just after taking the lock: a refusal in that moment waits for the
 * name (at most ~0.2 s), so that the operator is told which process it is.
 */
async function readHolder(path: string): Promise<LockHolder | null> {
  for (let attempt = 1; ; attempt++) {
    const holder = parseHolder((await readFile(path, 'utf8')).trim());
    if (holder || attempt === HOLDER_READS) return holder;
    await sleep(10);
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.host === 'string' && typeof holder.pid === 'number' && typeof holder.since === 'string') return holder as LockHolder;
  } catch {
    // Empty (the holder is between taking the lock and writing its name) or an older version's bare pid.
  }
  return null;
}
