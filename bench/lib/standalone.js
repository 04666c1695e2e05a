/**
 * Runs one suite on its own (`node bench/suites/<name>.js`) with what it needs of run.js's context
 * (log, defer, deferToEnd; no shared state, no earlier figures), hands its result to `print`, and
 * then runs the cleanups, the last deferred first, even when the suite failed.
 */
export async function runStandalone(run, print) {
  const cleanups = [];
  const context = {
    log: (message) => process.stderr.write(`  ${message}\n`),
    defer: (cleanup) => cleanups.push(cleanup),
    deferToEnd: (cleanup) => cleanups.push(cleanup),
  };
  try {
    print(await run(context));
  } finally {
    while (cleanups.length > 0) await Promise.resolve(cleanups.pop()()).catch(() => undefined);
  }
}
