import { chmod, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { JobTable } from './job-table.js';
import { applyRecord, isJournalRecord, recordSeq } from './journal-records.js';
import { FILE_HEADER_BYTES, checkFileHeader } from './journal-writer.js';
import { PRIVATE_FILE_MODE } from './private-files.js';
import { CorruptDataError } from './record-codec.js';
import { readRecordFile } from './record-reader.js';
import { readSnapshot, snapshotFileName } from './snapshot.js';

export const JOURNAL_PATTERN = /^journal-(\d{12})\.smr$/;
export const SNAPSHOT_PATTERN = /^snapshot-(\d{12})\.smr$/;

export function journalFileName(generation: number): string {
  return `journal-${String(generation).padStart(12, '0')}.smr`;
}

export interface RecoveryReport {
  jobs: number;
  recoveryMs: number;
  snapshotGeneration: number;
  journalRecords: number;
  tornBytes: number;
}

export interface Recovered {
  table: JobTable;
  /** The journal generation to append to. */
  generation: number;
  /** Where appending continues in that journal; null when it must be created. */
  validLength: number | null;
  /** Bytes of the snapshot and journals recovered from. */
  snapshotBytes: number;
  journalBytes: number;
  report: Omit<RecoveryReport, 'recoveryMs'>;
}

/**
 * Rebuilds the table from the newest snapshot and the journals after it, streaming each file in
 * chunks. Leftover temporary files (a snapshot a crash cut short) are removed, and files an older
 * version left readable to others are made private.
 */
export async function recover(dataDir: string, logger: Logger, chunkBytes?: number): Promise<Recovered> {
  const names = await readdir(dataDir);
  for (const name of names) {
    if (name.endsWith('.tmp')) await unlink(join(dataDir, name));
    else await chmod(join(dataDir, name), PRIVATE_FILE_MODE);
  }
  const generations = (pattern: RegExp) =>
    names
      .map((name) => pattern.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => a - b);

  const table = new JobTable();
  const snapshotGeneration = generations(SNAPSHOT_PATTERN).at(-1) ?? 0;
  let snapshotBytes = 0;
  let coveredSeq = 0;
  if (snapshotGeneration > 0) {
    const removals: [string, number][] = [];
    const snapshot = await readSnapshot(
      join(dataDir, snapshotFileName(snapshotGeneration)),
      (job) => table.put(job, false),
      (id, seq) => removals.push([id, seq]),
    );
    table.changes.restoreRemovals(removals, snapshot.forgottenThrough);
    table.lastSeq = Math.max(table.lastSeq, snapshot.lastSeq);
    snapshotBytes = snapshot.bytes;
    coveredSeq = snapshot.lastSeq;
  }

  const journals = generations(JOURNAL_PATTERN).filter((generation) => generation >= snapshotGeneration);
  let journalRecords = 0;
  let journalBytes = 0;
  let tornBytes = 0;
  let validLength: number | null = null;
  let emptiedGeneration: number | null = null;
  for (const [index, generation] of journals.entries()) {
    const path = join(dataDir, journalFileName(generation));
    const isLast = index === journals.length - 1;
    const scan = await readRecordFile(path, {
      headerBytes: FILE_HEADER_BYTES,
      checkHeader: (header) => checkFileHeader(header, 'SMRJ', path),
      // Only the newest journal can end in a torn write: older ones were closed after their last fsync.
      tolerateTornTail: isLast,
      chunkBytes,
      onRecord: (record) => {
        if (!isJournalRecord(record)) throw new CorruptDataError(path, -1, `unknown record ${JSON.stringify(record).slice(0, 80)}`);
        // The snapshot already holds every change up to its lastSeq.
        const seq = recordSeq(record);
        if (seq === null || seq > coveredSeq) applyRecord(table, record);
      },
    });
    if (!scan.complete) {
      if (!isLast) throw new Error(`${path} is shorter than its header, but newer journals follow it`);
      // Cut short while being created: it holds nothing yet.
      await unlink(path);
      emptiedGeneration = generation;
      break;
    }
    journalRecords += scan.records;
    journalBytes += scan.validLength;
    if (isLast) {
      validLength = scan.validLength;
      tornBytes = scan.tornBytes;
      if (tornBytes > 0) logger.warn({ file: path, tornBytes }, 'cut off a torn last record (never acknowledged)');
    }
  }

  // One process owns the directory, so jobs left running were orphaned by the crash: run them again now.
  for (const job of table.values()) {
    if (job.status === 'running') table.replaceQuietly({ ...job, leaseUntil: 0 });
  }
  table.rebuildChangeLog();
  const generation = emptiedGeneration ?? journals.at(-1) ?? Math.max(1, snapshotGeneration);
  return {
    table,
    generation,
    validLength,
    snapshotBytes,
    journalBytes,
    report: { jobs: table.size, snapshotGeneration, journalRecords, tornBytes },
  };
}

/** Bytes of the files in `dataDir` (the data directory is flat). */
export async function dataDirBytes(dataDir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dataDir)) total += (await stat(join(dataDir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}
