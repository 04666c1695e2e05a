// Runs the benchmark suites in sequence, prints their figures as a table and writes them to
// bench/results/latest.json. Run it after `npm run build` (`npm run bench` does both).
//
// A suite is any module in bench/suites/ that exports `name` and `run(context)`; `run` returns
// `{ figures: [{ key, label, value, unit, target? }], extra? }`. The core suites run first, in the
// order below, because later ones read earlier figures; others follow in file-name order.
//
// Settings (environment): BENCH_DURATION_S (10) per measurement, BENCH_WARMUP_S (1),
// BENCH_CONNECTIONS (50), BENCH_JOBS (100000) in the large store, BENCH_SUITES (comma-separated
// names, default all), BENCH_TIMEOUT_S (900) for the whole run; suites read their own settings
// too (BENCH_EVENT_SUBSCRIBERS, BENCH_EVENT_PROCESSES, BENCH_SCALE_OUT_JOBS, BENCH_SCALE_OUT_WORKERS).
// All traffic stays on 127.0.0.1.

import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * @typedef {object} Figure
 * @property {string} key
 * @property {string} label
 * @property {number | null} value
 * @property {string} unit
 * @property {{ op: '<=' | '>=', value: number }} [target]
 *
 * @typedef {object} BenchContext
 * @property {{ durationS: number, warmupS: number, connections: number, jobs: number }} settings
 * @property {Record<string, any>} shared  state that suites share, such as the seeded store
 * @property {Record<string, { figures: Figure[], extra?: unknown }>} results  figures of the suites run so far
 * @property {(message: string) => void} log  progress, to stderr
 * @property {(cleanup: () => unknown) => void} defer  runs when the current suite ends, also on failure
 * @property {(cleanup: () => unknown) => void} deferToEnd  runs when the whole run ends
 * @property {(suite: string, key: string) => number | null} figure  an earlier suite's figure
 */

const CORE_ORDER = ['baseline', 'create', 'list', 'memory', 'recovery'];
const suitesDir = new URL('./suites/', import.meta.url);
const resultsFile = new URL('./results/latest.json', import.meta.url);

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name}=${JSON.stringify(raw)} must be a positive number`);
  return value;
}

async function loadSuites() {
  const files = (await readdir(suitesDir)).filter((file) => file.endsWith('.js')).sort();
  const suites = [];
  for (const file of files) {
    const module = await import(new URL(file, suitesDir).href);
    if (typeof module.name === 'string' && typeof module.run === 'function') suites.push(module);
  }
  const rank = (suite) => {
    const index = CORE_ORDER.indexOf(suite.name);
    return index === -1 ? CORE_ORDER.length : index;
  };
  return suites.sort((a, b) => rank(a) - rank(b));
}

async function runCleanups(cleanups) {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`  cleanup failed: ${error.message}\n`);
    }
  }
}

function formatValue(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function verdict(figure) {
  if (!figure.target) return '';
  if (figure.value === null || Number.isNaN(figure.value)) return 'n/a';
  const met = figure.target.op === '<=' ? figure.value <= figure.target.value : figure.value >= figure.target.value;
  return met ? 'met' : 'MISSED';
}

function printTable(report) {
  const rows = [['suite', 'figure', 'value', 'target', 'result']];
  for (const [suite, outcome] of Object.entries(report.suites)) {
    if (outcome.error) rows.push([suite, `failed: ${outcome.error.split('\n')[0]}`, '', '', '']);
    for (const figure of outcome.figures ?? []) {
      const target = figure.target ? `${figure.target.op} ${formatValue(figure.target.value)} ${figure.unit}` : '';
      rows.push([suite, figure.label, `${formatValue(figure.value)} ${figure.unit}`, target, verdict(figure)]);
    }
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row) =>
    row
      .map((cell, column) => (column === 2 ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  process.stdout.write(`\n${line(rows[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows.slice(1)) process.stdout.write(`${line(row)}\n`);
}

async function main() {
  if (!existsSync(new URL('../packages/testkit/dist/server-process.js', import.meta.url))) {
    throw new Error('packages/testkit/dist is missing: run `npm run build` first (or `npm run bench`, which builds)');
  }
  const settings = {
    durationS: positiveNumber('BENCH_DURATION_S', 10),
    warmupS: positiveNumber('BENCH_WARMUP_S', 1),
    connections: positiveNumber('BENCH_CONNECTIONS', 50),
    jobs: Math.round(positiveNumber('BENCH_JOBS', 100_000)),
  };
  const deadline = Date.now() + positiveNumber('BENCH_TIMEOUT_S', 900) * 1000;
  const only = process.env.BENCH_SUITES ? process.env.BENCH_SUITES.split(',').map((s) => s.trim()) : null;

  const all = await loadSuites();
  const unknown = (only ?? []).filter((wanted) => !all.some((suite) => suite.name === wanted));
  if (unknown.length > 0)
    throw new Error(`unknown suite(s) in BENCH_SUITES: ${unknown.join(', ')} (have: ${all.map((s) => s.name).join(', ')})`);
  const suites = only ? all.filter((suite) => only.includes(suite.name)) : all;

  const suiteCleanups = [];
  const endCleanups = [];
  const report = {
    startedAt: new Date().toISOString(),
    finishedAt: null,
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      memoryBytes: os.totalmem(),
      loadAverageAtStart: os.loadavg(),
      loadAverageAtEnd: null,
    },
    settings,
    suites: {},
  };
  /** @type {BenchContext} */
  const context = {
    settings,
    shared: {},
    results: report.suites,
    log: (message) => process.stderr.write(`  ${message}\n`),
    defer: (cleanup) => suiteCleanups.push(cleanup),
    deferToEnd: (cleanup) => endCleanups.push(cleanup),
    figure: (suite, key) => report.suites[suite]?.figures?.find((f) => f.key === key)?.value ?? null,
  };

  const interrupted = async () => {
    await runCleanups(suiteCleanups);
    await runCleanups(endCleanups);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  let failed = false;
  try {
    for (const suite of suites) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        report.suites[suite.name] = { error: 'not run: the time budget (BENCH_TIMEOUT_S) was used up' };
        failed = true;
        continue;
      }
      process.stderr.write(`${suite.name}: ${suite.description ?? ''}\n`);
      const started = performance.now();
      let timer;
      try {
        const outcome = await Promise.race([
          suite.run(context),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('ran out of the time budget (BENCH_TIMEOUT_S)')), remaining);
          }),
        ]);
        report.suites[suite.name] = { durationMs: Math.round(performance.now() - started), figures: outcome.figures, extra: outcome.extra };
      } catch (error) {
        failed = true;
        report.suites[suite.name] = { durationMs: Math.round(performance.now() - started), error: error.stack ?? String(error) };
        process.stderr.write(`  failed: ${error.stack ?? error}\n`);
      } finally {
        clearTimeout(timer);
        await runCleanups(suiteCleanups);
      }
    }
  } finally {
    await runCleanups(endCleanups);
  }

  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = os.loadavg();
  printTable(report);
  // Other work on the machine skews every figure; say so rather than publish them silently.
  // Only the start counts: by the end the run's own processes raise the load average.
  const loadAtStart = report.machine.loadAverageAtStart[0];
  if (loadAtStart > report.machine.cpus / 2) {
    process.stdout.write(
      `\nwarning: load average was ${loadAtStart.toFixed(1)} on ${report.machine.cpus} CPUs at the start; other processes competed with this run\n`,
    );
  }
  await mkdir(new URL('./', resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${fileURLToPath(resultsFile)}\n`);
  if (failed) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    // A suite cut off by the time budget may still hold sockets or timers: do not wait for them.
    () => process.exit(process.exitCode ?? 0),
    (error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
}
