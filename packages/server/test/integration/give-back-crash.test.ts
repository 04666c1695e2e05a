import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredJob } from '../../src/store/job-store.js';
import { openFileStore } from '../temp-file-store.js';

const SERVER_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT_FILE_STORE = new URL('../../dist/store/file/file-store.js', import.meta.url).href;
const T0 = Date.UTC(2026, 10, 23, 10);

/**
 * A process that opens the built file store, creates a job, claims it under an hour's lease, gives
 * the claim back, prints the job as the store then holds it, and waits to be killed.
 */
const GIVE_BACK_THEN_WAIT = `
import { pino } from 'pino';
const { FileStore } = await import(process.env.FILE_STORE);
const store = await FileStore.open({
  dataDir: process.env.DATA_DIR,
  logger: pino({ level: 'silent' }),
  minFreeBytes: 0,
  onFatal: (error) => { console.error(error); process.exit(70); },
});
const T0 = Number(process.env.T0);
await store.createJob({ id: process.env.JOB_ID, createdAt: T0, runAt: T0, idempotencyKey: null });
const [claim] = await store.claimDueJobs({ now: T0 + 1, limit: 1, leaseMs: 3_600_000, owner: 'doomed' });
await store.releaseClaims([{ id: claim.id, claimToken: claim.claimToken }], T0 + 2);
console.log(JSON.stringify(await store.getJob(claim.id)));
setInterval(() => {}, 60_000);
`;

describe('a claim given back in the file store', () => {
  let dataDir: string | undefined;
  afterEach(async () => {
    if (dataDir) await removeTempDir(dataDir);
  });

  it('is pending again after kill -9 and recovery, not running under the claim it gave back', async () => {
    dataDir = await makeTempDir('simmer-give-back-');
    const id = uuidv7();
    const child = spawn(process.execPath, ['--input-type=module', '-e', GIVE_BACK_THEN_WAIT], {
      cwd: SERVER_ROOT,
      env: { PATH: process.env.PATH ?? '', FILE_STORE: BUILT_FILE_STORE, DATA_DIR: dataDir, T0: String(T0), JOB_ID: id },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout }), 'line'),
      exited.then(([code]) => Promise.reject(new Error(`the store process exited with ${String(code)} before giving back`))),
    ])) as [string];
    const released = JSON.parse(line) as StoredJob;
    expect(released).toMatchObject({ id, status: 'pending', claimToken: null, leaseUntil: null, attempts: 0 });
    child.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');

    const store = await openFileStore(dataDir);
    try {
      expect(await store.getJob(id)).toEqual(released);
      expect(await store.lastSeq()).toBe(released.updatedSeq);
      const [again] = await store.claimDueJobs({ now: T0 + 2, limit: 1, leaseMs: 60_000, owner: 'heir' });
      expect(again).toMatchObject({ id, status: 'running', attempts: 1 });
    } finally {
      await store.close();
    }
  });
});
