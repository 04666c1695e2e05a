import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { JobTable } from './job-table.js';
import { JournalWriter, type SyncFile } from './journal-writer.js';
import { syncDir } from './private-files.js';
import { JOURNAL_PATTERN, SNAPSHOT_PATTERN, journalFileName } from './recovery.js';
import { writeSnapshot } from './snapshot.js';

export interface DataFilesOptions {
  dataDir: string;
  logger: Logger;
  sync?: SyncFile;
  onFatal: (error: Error) => void;
}

/**
 * The files of a data directory: the journal being appended to, and the snapshot and older
 * journals that recovery would read. Counts their bytes, so the store can tell when a snapshot
 * would shrink the directory, and rotates: journal N+1 first, then snapshot N+1, then the old
 * files go, so a crash at any point recovers from what is on disk.
 */
export class DataFiles {
  /** Bytes of the snapshot and of the journals before the current one. */
  private settledBytes: number;

  private constructor(
    private readonly options: DataFilesOptions,
    private journal: JournalWriter,
    private generation: number,
    settledBytes: number,
  ) {
    this.settledBytes = settledBytes;
  }

  static async open(
    options: DataFilesOptions & { generation: number; validLength: number | null; recoveredBytes: number },
  ): Promise<DataFiles> {
    const journal = await JournalWriter.open({
      path: join(options.dataDir, journalFileName(options.generation)),
      validLength: options.validLength,
      sync: options.sync,
      onFatal: options.onFatal,
    });
    if (options.validLength === null) await syncDir(options.dataDir);
    const current = options.validLength ?? 0;
    return new DataFiles(options, journal, options.generation, options.recoveredBytes - current);
  }

  /** Appends one framed record; resolves once it is durable. */
  append(frame: Buffer): Promise<void> {
    return this.journal.append(frame);
  }

  /** Bytes recovery would read now: snapshot and journals. */
  get storedBytes(): number {
    return this.settledBytes + this.journal.size;
  }

  /**
   * Starts journal generation N+1, then writes snapshot N+1 of the table once journal N is
   * durable and applied. Old files are removed only after the snapshot is durable. A journal that
   * cannot be started (a full disk) is closed and removed, and appends carry on in the old one.
   * Returns the snapshot's size.
   */
  async snapshot(table: JobTable): Promise<number> {
    const { dataDir, logger } = this.options;
    const started = performance.now();
    const generation = this.generation + 1;
    const path = join(dataDir, journalFileName(generation));
    let next: JournalWriter;
    try {
      next = await JournalWriter.open({ path, validLength: null, sync: this.options.sync, onFatal: this.options.onFatal });
    } catch (error) {
      await unlink(path).catch(() => {});
      throw new Error(`could not start journal ${path}; carrying on with the current one`, { cause: error });
    }
    try {
      await syncDir(dataDir);
    } catch (error) {
      await next.close();
      await unlink(path).catch(() => {});
      throw new Error(`could not start journal ${path}; carrying on with the current one`, { cause: error });
    }
    const previous = this.journal;
    this.journal = next;
    this.generation = generation;
    const previousClosed = previous.close();
    next.startAfter(previousClosed);
    await previousClosed;
    this.settledBytes += previous.size;
    // Let the old journal's last commits apply before taking the jobs.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const jobs = table.values();
    const bytes = await writeSnapshot({
      dir: dataDir,
      generation,
      lastSeq: table.lastSeq,
      jobs,
      removals: table.changes.removals(),
      forgottenThrough: table.changes.forgottenThrough,
      sync: this.options.sync ?? ((handle) => handle.sync()),
    });
    for (const name of await readdir(dataDir)) {
      const match = JOURNAL_PATTERN.exec(name) ?? SNAPSHOT_PATTERN.exec(name);
      if (match && Number(match[1]) < generation) await unlink(join(dataDir, name));
    }
    await syncDir(dataDir);
    this.settledBytes = bytes;
    logger.info({ generation, jobs: jobs.length, bytes, ms: Math.round(performance.now() - started) }, 'snapshot written');
    return bytes;
  }

  /** Waits for every queued record to be durable, then closes the journal. */
  close(): Promise<void> {
    return this.journal.close();
  }
}
