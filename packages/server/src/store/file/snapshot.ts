import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredJob } from '../job-store.js';
import { FILE_HEADER_BYTES, checkFileHeader, fileHeader, type SyncFile } from './journal-writer.js';
import { encodeRecord, scanRecords } from './record-codec.js';
import { syncDir } from './sync-dir.js';

interface SnapshotMeta {
  t: 'meta';
  generation: number;
  lastSeq: number;
  count: number;
}

export interface Snapshot {
  generation: number;
  lastSeq: number;
  jobs: StoredJob[];
}

const CHUNK = 2000;

export function snapshotFileName(generation: number): string {
  return `snapshot-${String(generation).padStart(12, '0')}.smr`;
}

/**
 * Writes the jobs as snapshot `generation`: to a temporary file, fsynced, renamed into place and
 * the directory fsynced, so a crash leaves either the whole snapshot or none. Serialises in
 * chunks, yielding between them, so a large store keeps serving meanwhile.
 */
export async function writeSnapshot(options: {
  dir: string;
  generation: number;
  lastSeq: number;
  jobs: StoredJob[];
  sync: SyncFile;
}): Promise<void> {
  const { dir, generation, jobs } = options;
  const finalPath = join(dir, snapshotFileName(generation));
  const tempPath = `${finalPath}.tmp`;
  const handle = await open(tempPath, 'w');
  try {
    const meta: SnapshotMeta = { t: 'meta', generation, lastSeq: options.lastSeq, count: jobs.length };
    await handle.write(Buffer.concat([fileHeader('SMRS'), encodeRecord(meta)]));
    for (let start = 0; start < jobs.length; start += CHUNK) {
      const frames = jobs.slice(start, start + CHUNK).map((job) => encodeRecord(job));
      await handle.write(Buffer.concat(frames));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await options.sync(handle);
  } finally {
    await handle.close();
  }
  await rename(tempPath, finalPath);
  await syncDir(dir);
}

/** Reads a snapshot; any damage is an error, since snapshots are only ever renamed into place whole. */
export async function readSnapshot(path: string): Promise<Snapshot> {
  const buffer = await readFile(path);
  checkFileHeader(buffer, 'SMRS', path);
  const { records } = scanRecords(buffer, path, { headerBytes: FILE_HEADER_BYTES, tolerateTornTail: false });
  const meta = records[0] as SnapshotMeta | undefined;
  if (meta?.t !== 'meta' || records.length - 1 !== meta.count) {
    throw new Error(`${path} is incomplete: expected ${meta?.count ?? '?'} jobs, found ${records.length - 1}`);
  }
  return { generation: meta.generation, lastSeq: meta.lastSeq, jobs: records.slice(1) as StoredJob[] };
}
