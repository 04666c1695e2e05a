import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { FileStore } from './file/file-store.js';
import type { JobStore } from './job-store.js';

/** Opens the configured store; `onFatal` is called (and must end the process) if the disk fails under the file store. */
export async function openStore(config: Readonly<Config>, logger: Logger, onFatal: (error: Error) => void): Promise<JobStore> {
  if (config.store === 'postgres') {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    const store = await openPostgresStore({ databaseUrl: config.databaseUrl!, logger });
    logger.info('store opened (postgres)');
    return store;
  }
  const store = await FileStore.open({ dataDir: config.dataDir, minFreeBytes: config.dataDirMinFreeBytes, logger, onFatal });
  logger.info({ store: 'file', dataDir: config.dataDir, ...store.recovery }, 'store opened');
  return store;
}
