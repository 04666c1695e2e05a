import { appendFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../../src/store/file/data-dir-lock.js';
import type { FileStore, FileStoreOptions } from '../../src/store/file/file-store.js';
import { encodeRecord } from '../../src/store/file/record-codec.js';
import { readSnapshot, writeSnapshot } from '../../src/store/file/snapshot.js';
import type { TableJob } from '../../src/store/file/job-table.js';
import { openFileStore, useTempFileStores } from '../temp-file-store.js';

const T0 = Date.UTC(2026, 10, 23, 10);

describe('file store recovery', () => {
  const dir = useTempFileStores('simmer-recovery-');
  let dataDir: string;
  const open = (options: Partial<FileStoreOptions> = {}) => openFileStore(dataDir, options);
  const journalPath = async () =>
    join(
      dataDir,
      (await readdir(dataDir))
        .filter((name) => name.startsWith('journal-'))
        .sort()
        .at(-1)!,
    );
  const create = (store: FileStore, runAt = T0 + 5000) => store.createJob({ id: uuidv7(), createdAt: T0, runAt, idempotencyKey: null });

  beforeEach(() => {
    dataDir = dir.dataDir;
  });

  it('cuts off a torn last record and keeps everything before it', async () => {
    const store = await open();
    const kept = [(await create(store)).job, (await create(store)).job];
    await store.close();
    const path = await journalPath();
    const frame = encodeRecord({ t: 'create', seq: 3, id: uuidv7(), createdAt: T0, runAt: T0, key: null });
    await appendFile(path, frame.subarray(0, frame.length - 7));
    const before = (await stat(path)).size;

    const reopened = await open();
    expect(reopened.recovery.tornBytes).toBe(frame.length - 7);
    expect(await reopened.countJobs()).toMatchObject({ pending: 2 });
    for (const job of kept) expect(await reopened.getJob(job.id)).toEqual(job);
    const next = (await create(reopened)).job;
    expect(next.updatedSeq).toBe(3);
    await reopened.close();
    expect((await stat(path)).size).toBeLessThan(before + frame.length);

    const again = await open();
    expect(await again.getJob(next.id)).toEqual(next);
    await again.close();
  });

  it('treats a zero-filled tail (a write the disk never finished) as torn', async () => {
    const store = await open();
    await create(store);
    await store.close();
    await appendFile(await journalPath(), Buffer.alloc(4096));
    const reopened = await open();
    expect(reopened.recovery.tornBytes).toBe(4096);
    expect((await reopened.countJobs()).pending).toBe(1);
    await reopened.close();
  });

  it('refuses to start, loudly, on corruption in the middle of the journal', async () => {
    const store = await open();
    for (let i = 0; i < 5; i++) await create(store);
    await store.close();
    const path = await journalPath();
    const bytes = await readFile(path);
    bytes[bytes.length - 300] = bytes[bytes.length - 300]! ^ 0xff;
    await writeFile(path, bytes);
    await expect(open()).rejects.toThrow(/corrupt at byte \d+.*valid records follow/);
    // The refusal leaves the lock free for a repaired directory.
    await writeFile(path, (await readFile(path)).subarray(0, 8));
    const repaired = await open();
    await repaired.close();
  });

  it('lets only one process-wide store open a data directory', async () => {
    const store = await open();
    await expect(open()).rejects.toBeInstanceOf(DataDirLockedError);
    await store.close();
    const reopened = await open();
    await reopened.close();
  });

  it('takes over a lock left by a process that died', async () => {
    await writeFile(join(dataDir, 'LOCK'), '999999\n');
    const store = await open();
    await store.close();
  });

  it('stops for good when fsync fails, and never acknowledges the write', async () => {
    const fatal: Error[] = [];
    let failing = false;
    const store = await open({
      sync: async (handle) => {
        if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await handle.datasync();
      },
      onFatal: (error) => fatal.push(error),
    });
    const kept = (await create(store)).job;
    failing = true;
    await expect(create(store)).rejects.toThrow(/fsync failed/);
    expect(fatal).toHaveLength(1);
    await expect(create(store)).rejects.toThrow(/fsync failed/);
    expect(await store.getJob(kept.id)).toEqual(kept);
    expect((await store.countJobs()).pending).toBe(1);
  });

  it('recovers from a snapshot plus the journal after it, and removes what the snapshot covers', async () => {
    const store = await open({ snapshotEvery: 10 });
    const jobs = [];
    for (let i = 0; i < 25; i++) jobs.push((await create(store, T0 + i)).job);
    const [claimed] = await store.claimDueJobs({ now: T0 + 100, limit: 1, leaseMs: 60_000, owner: 't' });
    await store.close();
    const files = await readdir(dataDir);
    expect(files.filter((name) => name.startsWith('snapshot-'))).toHaveLength(1);

    const reopened = await open();
    expect(reopened.recovery.snapshotGeneration).toBeGreaterThan(0);
    for (const job of jobs.slice(1)) expect(await reopened.getJob(job.id)).toEqual(job);
    // A job running when the process went away is claimable again at once.
    expect(await reopened.nextWakeAt()).toBe(0);
    const [again] = await reopened.claimDueJobs({ now: T0, limit: 1, leaseMs: 1000, owner: 't' });
    expect(again).toMatchObject({ id: claimed!.id, attempts: 2 });
    await reopened.close();
  });

  it('reads journals and snapshots written before jobs kept their client: such jobs have client null', async () => {
    const store = await open({ snapshotEvery: 4 });
    for (let i = 0; i < 6; i++)
      await store.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null, client: 'ck-snapshotted00' });
    const isSnapshot = (name: string) => name.startsWith('snapshot-') && name.endsWith('.smr');
    await expect.poll(async () => (await readdir(dataDir)).some(isSnapshot)).toBe(true);
    await store.close();
    // The snapshot as an older release wrote it: its jobs without the field.
    const snapshotName = (await readdir(dataDir)).find(isSnapshot)!;
    const jobs: TableJob[] = [];
    const removals: [string, number][] = [];
    const meta = await readSnapshot(
      join(dataDir, snapshotName),
      (job) => jobs.push(job),
      (id, seq) => removals.push([id, seq]),
    );
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    expect(new Set(jobs.map((job) => job.client))).toEqual(new Set(['ck-snapshotted00']));
    for (const job of jobs) delete (job as Partial<TableJob>).client;
    await writeSnapshot({ dir: dataDir, ...meta, jobs, removals, sync: (handle) => handle.sync() });
    // And a create record as an older release journalled it: no client field.
    const oldId = uuidv7();
    const lastSeq = (await open().then(async (peek) => [await peek.lastSeq(), await peek.close()] as const))[0];
    await appendFile(await journalPath(), encodeRecord({ t: 'create', seq: lastSeq + 1, id: oldId, createdAt: T0, runAt: T0, key: null }));

    const reopened = await open();
    for (const job of jobs) expect((await reopened.getJob(job.id))?.client).toBeNull();
    expect((await reopened.getJob(oldId))?.client).toBeNull();
    const fresh = (await reopened.createJob({ id: uuidv7(), createdAt: T0, runAt: T0, idempotencyKey: null, client: 'ck-new0000000000' }))
      .job;
    await reopened.close();
    const again = await open();
    expect((await again.getJob(fresh.id))?.client).toBe('ck-new0000000000');
    expect((await again.getJob(oldId))?.client).toBeNull();
    await again.close();
  });

  it('recovers when a crash left a snapshot half-written', async () => {
    const store = await open();
    const job = (await create(store)).job;
    await store.close();
    await writeFile(join(dataDir, 'snapshot-000000000009.smr.tmp'), 'partial');
    const reopened = await open();
    expect(await reopened.getJob(job.id)).toEqual(job);
    expect((await readdir(dataDir)).some((name) => name.endsWith('.tmp'))).toBe(false);
    await reopened.close();
  });

  it('recovers when a crash cut the new journal file short while it was being created', async () => {
    const store = await open();
    const job = (await create(store)).job;
    await store.close();
    const path = await journalPath();
    const next = path.replace(/(\d{12})/, (n) => String(Number(n) + 1).padStart(12, '0'));
    await writeFile(next, '');
    await truncate(next, 3);
    const reopened = await open();
    expect(await reopened.getJob(job.id)).toEqual(job);
    await create(reopened);
    await reopened.close();
  });
});
