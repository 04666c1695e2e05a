import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FileStore } from '../../src/store/file/file-store.js';
import { describeJobStoreContract } from './job-store-contract.js';

const logger = pino({ level: 'silent' });
const failOnFatal = (error: Error) => {
  throw error;
};

describeJobStoreContract('file', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'simmer-file-store-'));
  const open = () => FileStore.open({ dataDir, logger, minFreeBytes: 0, onFatal: failOnFatal });
  return {
    store: await open(),
    reopen: open,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describeJobStoreContract('file (snapshot every 3 records)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'simmer-file-store-'));
  const open = () => FileStore.open({ dataDir, logger, minFreeBytes: 0, snapshotEvery: 3, onFatal: failOnFatal });
  return {
    store: await open(),
    reopen: open,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});
