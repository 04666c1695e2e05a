// Reads a V8 CPU profile (`node --cpu-prof`) and sums self time per function, for a suite's report.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Now on the clock V8 stamps profiles with (CLOCK_MONOTONIC, µs), the same in every process on a machine. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * The functions with the most self time in a `.cpuprofile`, as shares of the span looked at (idle
 * included, so the shares say how busy the process was). `window` ({ fromUs, toUs }, from
 * `monotonicUs()` in any process) keeps only the samples taken within it.
 * @returns {Promise<{ file: string, spanMs: number, top: { fn: string, ms: number, share: number }[] }>}
 */
export async function summarizeProfile(file, { count = 15, window } = {}) {
  const profile = JSON.parse(await readFile(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  const fromUs = window?.fromUs ?? -Infinity;
  const toUs = window?.toUs ?? Infinity;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i += 1) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromUs || at > toUs) continue;
    const node = nodes.get(profile.samples[i]);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const spanUs = Math.min(toUs, profile.endTime) - Math.max(fromUs, profile.startTime);
  const top = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), share: Math.round((1000 * us) / spanUs) / 10 }));
  return { file, spanMs: Math.round(spanUs / 1000), top };
}

/** The newest `.cpuprofile` in `dir` written by process `pid` (V8 names them CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile). */
export async function profileOf(dir, pid) {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.cpuprofile') && file.split('.')[3] === String(pid));
  return files.length === 0 ? null : join(dir, files.sort().at(-1));
}
