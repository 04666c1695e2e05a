import { readdir } from 'node:fs/promises';
import { v7 as uuidv7 } from 'uuid';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FileStore, FileStoreOptions } from '../../src/store/file/file-store.js';
import { dataDirBytes } from '../../src/store/file/recovery.js';
import { StoreFullError } from '../../src/store/store-errors.js';
import { useTempFileStores } from '../temp-file-store.js';

const T0 = Date.UTC(2026, 10, 23, 10);
const MiB = 1024 * 1024;

describe('file store on a disk short of space', () => {
  const dir = useTempFileStores('simmer-full-');
  /** A disk of this size holding only the data directory: free space is what its files leave. */
  let capacity: number;
  const readFree = async () => capacity - (await dataDirBytes(dir.dataDir));
  const open = (options: Partial<FileStoreOptions> = {}) => dir.open({ minFreeBytes: 8 * MiB, readFree, ...options });
  const create = (store: FileStore, key: string | null = null) =>
    store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: key });

  beforeEach(() => {
    capacity = 100 * MiB;
  });

  it('refuses creates below the minimum, before the next statfs, while reads, key replays and settles go on; takes them again once space returns', async () => {
    // Only a little room above the minimum; between two statfs calls the bytes written count against it.
    capacity = 8 * MiB + 2_500;
    const store = await open();
    const keyed = (await create(store, 'k')).job;
    const [claim] = await store.claimDueJobs({ now: T0, limit: 1, leaseMs: 60_000, owner: 't' });
    let accepted = 0;
    let refusal: unknown;
    for (let i = 0; i < 100 && refusal === undefined; i++) {
      try {
        await create(store);
        accepted++;
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(StoreFullError);
    expect((refusal as StoreFullError).retryAfterMs).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20);
    expect(store.health()).toMatchObject({
      ready: true,
      acceptingCreates: false,
      reason: expect.stringMatching(/DATA_DIR_MIN_FREE_BYTES/),
    });

    expect(await store.getJob(keyed.id)).toMatchObject({ id: keyed.id });
    expect(await create(store, 'k')).toMatchObject({ created: false, job: { id: keyed.id } });
    const settled = await store.settleJob(claim!.id, claim!.claimToken!, {
      status: 'failed',
      resolvedAt: T0,
      error: { code: 'internal_error', message: 'y' },
    });
    expect(settled).toMatchObject({ status: 'failed' });

    capacity = 50 * MiB;
    await expect.poll(() => store.health().acceptingCreates, { timeout: 5_000 }).toBe(true);
    expect((await create(store)).created).toBe(true);
    await store.close();
  });

  it('opens degraded on a full disk instead of failing, and serves what it has', async () => {
    const store = await open({ minFreeBytes: 0 });
    const job = (await create(store)).job;
    await store.close();
    capacity = MiB;
    const reopened = await open();
    expect(reopened.health()).toMatchObject({ ready: true, acceptingCreates: false });
    expect(await reopened.getJob(job.id)).toEqual(job);
    await expect(create(reopened)).rejects.toBeInstanceOf(StoreFullError);
    await reopened.close();
  });

  it('carries on in the old journal, and removes the new one, when a rotation cannot start it', async () => {
    // The first journal's handle is the first synced; the next file synced is the rotation's new journal: that sync fails.
    let journalFd: number | null = null;
    let failed = false;
    const store = await open({
      snapshotEvery: 3,
      sync: async (handle) => {
        journalFd ??= handle.fd;
        if (handle.fd !== journalFd && !failed) {
          failed = true;
          throw Object.assign(new Error('ENOSPC: no space left on device, fsync'), { code: 'ENOSPC' });
        }
        await handle.sync();
      },
    });
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push((await create(store)).job);
    await expect.poll(() => failed).toBe(true);
    const journals = async () => (await readdir(dir.dataDir)).filter((name) => name.startsWith('journal-'));
    await expect.poll(journals).toEqual(['journal-000000000001.smr']);
    for (let i = 0; i < 2; i++) jobs.push((await create(store)).job);
    expect(await journals()).toEqual(['journal-000000000001.smr']);
    await store.close();

    const reopened = await open();
    for (const job of jobs) expect(await reopened.getJob(job.id)).toEqual(job);
    await reopened.close();
  });
});
