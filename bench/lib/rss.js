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
 * CPU time a process has used so far (user + system), in ms, from /proc (Linux); null elsewhere.
 * Unlike throughput, CPU per request hardly moves when other processes compete for the cores.
 */
export async function readCpuMs(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS_PER_S = 100;

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
