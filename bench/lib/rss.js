import { readFile } from 'node:fs/promises';

/** Resident set size of a process in bytes, from /proc (Linux); null elsewhere. */
export async function readRss(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The median of a few RSS readings over about a second, so one GC in flight does not decide
 * the figure.
 */
export async function settledRss(pid, samples = 5, intervalMs = 250) {
  const readings = [];
  for (let i = 0; i < samples; i += 1) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const rss = await readRss(pid);
    if (rss === null) return null;
    readings.push(rss);
  }
  readings.sort((a, b) => a - b);
  return readings[Math.floor(readings.length / 2)];
}
