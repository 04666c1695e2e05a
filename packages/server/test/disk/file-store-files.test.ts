import { chmod, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tryLock } from 'fs-native-extensions';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../../src/store/file/data-dir-lock.js';
import { JOURNAL_PATTERN, SNAPSHOT_PATTERN } from '../../src/store/file/recovery.js';
import { openFileStore, useTempFileStores } from '../temp-file-store.js';

const T0 = Date.UTC(2026, 10, 23, 10);

/** A logger that resolves `written` at the store's first "snapshot written" line, or at an error (the test then fails on what it finds). */
function snapshotLog() {
  let resolve: () => void = () => {};
  const written = new Promise<void>((settle) => (resolve = settle));
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; level: number };
        if (entry.msg === 'snapshot written' || entry.level >= 50) resolve();
      },
    },
  );
  return { logger, written };
}

describe('file store files', () => {
  const dir = useTempFileStores('simmer-files-');

  for (const umask of [0o000, 0o022, 0o277]) {
    it(`keeps every directory 0700 and every file 0600 under umask ${umask.toString(8).padStart(3, '0')}`, async () => {
      const dataDir = join(dir.dataDir, 'nested', 'data');
      const snapshots = snapshotLog();
      const previous = process.umask(umask);
      const modes = new Map<string, number>();
      try {
        const store = await openFileStore(dataDir, { logger: snapshots.logger, snapshotEvery: 5 });
        for (let i = 0; i < 12; i++) await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: `k${i}` });
        const [claim] = await store.claimDueJobs({ now: T0, limit: 1, leaseMs: 1000, owner: 't' });
        await store.settleJob(claim!.id, claim!.claimToken!, {
          status: 'failed',
          resolvedAt: T0,
          error: { code: 'internal_error', message: 'y' },
        });
        await store.removeSettledJobs({ resolvedBefore: T0, limit: 10 });
        await store.expireIdempotencyKeys({ createdBefore: T0 + 1, limit: 10 });
        // Every kind of file: lock, journals, snapshots. Snapshots run in the background, and a file
        // is 0600 only once openPrivate has chmodded it (a snapshot's .tmp is renamed soon after), so
        // the files are looked at once one snapshot is written and close has waited for any other.
        await snapshots.written;
        await store.close();
        for (const name of await readdir(dataDir)) modes.set(name, (await stat(join(dataDir, name))).mode & 0o777);
        modes.set('.', (await stat(dataDir)).mode & 0o777);
      } finally {
        process.umask(previous);
      }
      expect([...modes.keys()].sort()).toEqual(expect.arrayContaining(['.', 'LOCK']));
      expect([...modes.keys()].some((name) => JOURNAL_PATTERN.test(name))).toBe(true);
      expect([...modes.keys()].some((name) => SNAPSHOT_PATTERN.test(name))).toBe(true);
      for (const [name, mode] of modes) expect(`${name} ${mode.toString(8)}`).toBe(`${name} ${name === '.' ? '700' : '600'}`);
    });
  }

  it('makes the files of an older, readable data directory private on open', async () => {
    const dataDir = join(dir.dataDir, 'old');
    const store = await openFileStore(dataDir);
    await store.close();
    await chmod(dataDir, 0o755);
    for (const name of await readdir(dataDir)) await chmod(join(dataDir, name), 0o644);
    const reopened = await openFileStore(dataDir);
    await reopened.close();
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(dataDir)) expect((await stat(join(dataDir, name))).mode & 0o777).toBe(0o600);
  });

  it('gives the lock to exactly one of many simultaneous takers, and names the holder to the others', async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => lockDataDir(dir.dataDir)));
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const attempt of attempts) {
      if (attempt.status === 'rejected') {
        expect(attempt.reason).toBeInstanceOf(DataDirLockedError);
        expect((attempt.reason as DataDirLockedError).holder?.pid).toBe(process.pid);
      }
    }
    const holder = JSON.parse(await readFile(join(dir.dataDir, 'LOCK'), 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    await (won[0] as PromiseFulfilledResult<() => Promise<void>>).value();
    // Released: the next taker gets it, and the file stays (removing it would let two lock different files).
    const again = await lockDataDir(dir.dataDir);
    await again();
    expect(await readdir(dir.dataDir)).toContain('LOCK');
  });

  it('names a holder caught between taking the lock and writing its name, once it has written it', async () => {
    // The lock taken and the file still empty, as a process starting at the same instant leaves it.
    const holding = await open(join(dir.dataDir, 'LOCK'), 'w+');
    try {
      expect(tryLock(holding.fd)).toBe(true);
      const named = setTimeout(
        () => void holding.write(`${JSON.stringify({ host: 'elsewhere', pid: 4242, since: '2026-11-30T00:00:00Z' })}\n`, 0),
        50,
      );
      const refused = await lockDataDir(dir.dataDir).then(
        () => expect.fail('took a directory that is held'),
        (error: unknown) => error,
      );
      clearTimeout(named);
      expect(refused).toBeInstanceOf(DataDirLockedError);
      expect(String(refused)).toMatch(/is in use by process 4242 on host elsewhere/);
    } finally {
      await holding.close();
    }
  });

  it('takes over a LOCK file an older version left behind, whatever it says', async () => {
    await writeFile(join(dir.dataDir, 'LOCK'), `${process.pid}\n`);
    const release = await lockDataDir(dir.dataDir);
    await release();
  });
});
