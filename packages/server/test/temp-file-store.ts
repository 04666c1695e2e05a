/**
 * The one way tests get a file store in a temp dir: a fresh directory per test (or per file), the
 * stores opened over it closed, and the directory removed, after the test.
 */

import { makeTempDir, removeTempDir } from '@simmer/testkit/temp-dir';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { FileStore, type FileStoreOptions } from '../src/store/file/file-store.js';

export const silentLogger = pino({ level: 'silent' });

/** A write that cannot reach the disk fails the test instead of stopping the process. */
const throwFatal = (error: Error): never => {
  throw error;
};

/** Opens a file store over `dataDir`: silent, no free-space floor, a fatal write error throws; `options` override any. */
export function openFileStore(dataDir: string, options: Partial<FileStoreOptions> = {}): Promise<FileStore> {
  return FileStore.open({ dataDir, logger: silentLogger, minFreeBytes: 0, onFatal: throwFatal, ...options });
}

export interface TempFileStores {
  /** This test's directory (fresh, empty until a store opens over it). */
  readonly dataDir: string;
  /** Opens a store over the directory; closed after the test if the test has not. */
  open(options?: Partial<FileStoreOptions>): Promise<FileStore>;
}

/** A temp data directory made and removed around each test (`per: 'file'`: once for the file's tests). */
export function useTempFileStores(prefix = 'simmer-store-', { per = 'test' }: { per?: 'test' | 'file' } = {}): TempFileStores {
  let dataDir: string | undefined;
  const opened: FileStore[] = [];
  (per === 'test' ? beforeEach : beforeAll)(async () => {
    dataDir = await makeTempDir(prefix);
  });
  (per === 'test' ? afterEach : afterAll)(async () => {
    for (const store of opened.splice(0)) await store.close();
    if (dataDir) await removeTempDir(dataDir);
    dataDir = undefined;
  });
  return {
    get dataDir() {
      if (dataDir === undefined) throw new Error('the temp data directory exists only while a test runs');
      return dataDir;
    },
    async open(options = {}) {
      const store = await openFileStore(this.dataDir, options);
      opened.push(store);
      return store;
    },
  };
}
