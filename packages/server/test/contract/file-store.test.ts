import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import { openFileStore } from '../temp-file-store.js';
import { describeJobStoreContract } from './job-store-contract.js';

describeJobStoreContract('file', async () => {
  const dataDir = await makeTempDir('simmer-file-store-');
  const open = () => openFileStore(dataDir);
  return { store: await open(), reopen: open, cleanup: () => removeTempDir(dataDir) };
});

describeJobStoreContract('file (snapshot every 3 records)', async () => {
  const dataDir = await makeTempDir('simmer-file-store-');
  const open = () => openFileStore(dataDir, { snapshotEvery: 3 });
  return { store: await open(), reopen: open, cleanup: () => removeTempDir(dataDir) };
});
