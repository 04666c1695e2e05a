import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NO_ATTEMPTS } from '../attempts.js';
import type { StoredJob } from '../job-store.js';
import type { TableJob } from './job-table.js';
import { FILE_HEADER_BYTES, checkFileHeader, fileHeader, type SyncFile } from './journal-writer.js';
import { openPrivate, syncDir } from './private-files.js';
import { encodeRecord } from './record-codec.js';
import { readRecordFile } from './record-reader.js';

/** Version 2 keeps results serialised (as the table does) and the removals "changes since" still knows. */
const SNAPSHOT_VERSION = 2;

interface SnapshotMeta {
  t: 'meta';
  generation: number;
  lastSeq: number;
  /** Jobs that follow the meta record. */
  count: number;
  /** Tombstones that follow the jobs, as [id, seq] (version 2). */
  removed?: number;
  forgottenThrough?: number;
}

export interface SnapshotContents {
  generation: number;
  lastSeq: number;
  forgottenThrough: number;
  bytes: number;
}

const CHUNK = 2000;

export function snapshotFileName(generation: number): string {
  return `snapshot-${String(generation).padStart(12, '0')}.smr`;
}

/**
 * Writes the jobs as snapshot `generation`: to a temporary file, fsynced, renamed into place and
 * the directory fsynced, so a crash leaves either the whole snapshot or none; a failed write
 * removes the temporary file. Serialises in chunks, yielding between them, so a large store keeps
 * serving meanwhile. Returns the snapshot's size in bytes.
 */
export async function writeSnapshot(options: {
  dir: string;
  generation: number;
  lastSeq: number;
  jobs: TableJob[];
  removals: [string, number][];
  forgottenThrough: number;
  sync: SyncFile;
}): Promise<number> {
  const { dir, generation, jobs, removals } = options;
  const finalPath = join(dir, snapshotFileName(generation));
  const tempPath = `${finalPath}.tmp`;
  const handle = await openPrivate(tempPath, 'w');
  let bytes = 0;
  const write = async (data: Buffer) => {
    await handle.write(data);
    bytes += data.length;
  };
  try {
    const meta: SnapshotMeta = {
      t: 'meta',
      generation,
      lastSeq: options.lastSeq,
      count: jobs.length,
      removed: removals.length,
      forgottenThrough: options.forgottenThrough,
    };
    await write(Buffer.concat([fileHeader('SMRS', SNAPSHOT_VERSION), encodeRecord(meta)]));
    for (const items of [jobs, removals] as unknown[][]) {
      for (let start = 0; start < items.length; start += CHUNK) {
        await write(Buffer.concat(items.slice(start, start + CHUNK).map((item) => encodeRecord(item))));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await options.sync(handle);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(tempPath).catch(() => {});
    throw error;
  }
  await rename(tempPath, finalPath);
  await syncDir(dir);
  return bytes;
}

/**
 * Streams a snapshot, handing each job and tombstone to the callbacks; any damage is an error,
 * since snapshots are only ever renamed into place whole.
 */
export async function readSnapshot(
  path: string,
  onJob: (job: TableJob) => void,
  onRemoval: (id: string, seq: number) => void,
): Promise<SnapshotContents> {
  let meta: SnapshotMeta | undefined;
  let version = SNAPSHOT_VERSION;
  let jobs = 0;
  let removals = 0;
  const { records, validLength } = await readRecordFile(path, {
    headerBytes: FILE_HEADER_BYTES,
    checkHeader: (header) => {
      version = checkFileHeader(header, 'SMRS', path, [1, SNAPSHOT_VERSION]);
    },
    tolerateTornTail: false,
    onRecord: (value) => {
      if (meta === undefined) {
        meta = value as SnapshotMeta;
        if (meta.t !== 'meta') throw new Error(`${path} does not start with its meta record`);
      } else if (jobs < meta.count) {
        jobs++;
        onJob(withLaterFields(version === 1 ? fromVersion1(value as StoredJob) : (value as TableJob)));
      } else {
        const [id, seq] = value as [string, number];
        removals++;
        onRemoval(id, seq);
      }
    },
  });
  if (meta === undefined || jobs !== meta.count || removals !== (meta.removed ?? 0) || records !== 1 + jobs + removals) {
    throw new Error(
      `${path} is incomplete: expected ${meta?.count ?? '?'} jobs and ${meta?.removed ?? 0} removals, found ${records - 1} records`,
    );
  }
  return { generation: meta.generation, lastSeq: meta.lastSeq, forgottenThrough: meta.forgottenThrough ?? 0, bytes: validLength };
}

/**
 * Fields added since a snapshot may have been written: one written before attempts were kept has
 * no attempt fields (the job has no attempts on record), one written before clients were kept no
 * client (null, as for such a job everywhere).
 */
function withLaterFields(job: TableJob): TableJob {
  // A fresh object from JSON.parse, not yet shared: filled in place.
  job.claimedAt ??= null;
  job.endedAttempts ??= NO_ATTEMPTS;
  job.client ??= null;
  return job;
}

function fromVersion1(job: StoredJob): TableJob {
  return { ...job, result: null, resultJson: job.result === null ? null : JSON.stringify(job.result) };
}
