/**
 * Runs the real built server (`packages/server/dist/main.js`) as a child process on an ephemeral
 * port with its own temp DATA_DIR, for integration tests, crash tests and benchmarks.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from './temp-dir.js';

/** Resolves the same from src/ (tests) and dist/ (benchmarks): both sit one level below the package. */
const DEFAULT_ENTRY = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));

/**
 * Variables the child inherits from this process. Everything else is left out on purpose, so a
 * developer's own UNSPLASH_ACCESS_KEY or DATABASE_URL never leaks into a test run.
 */
const INHERITED_ENV = ['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'LANG', 'TZ', 'SYSTEMROOT'];

export interface ServerProcessOptions {
  /** Added to the child's environment; overrides the defaults (HOST, PORT=0, DATA_DIR, LOG_LEVEL=info). */
  env?: Record<string, string | undefined>;
  /** Use this DATA_DIR (left in place on stop); a fresh temp dir is made and removed otherwise. */
  dataDir?: string;
  /** Working directory of the child; defaults to a temp dir, so no `.env` file is picked up. */
  cwd?: string;
  /** Script to run instead of the server's main.js; it must log the same `listening` line and serve /readyz. */
  entry?: string;
  /** Extra arguments for node, before the script. */
  nodeArgs?: string[];
  /** Runs the child under this open-file limit (`ulimit -n`, soft and hard, set by bash before node starts). */
  openFileLimit?: number;
  /**
   * How long to wait for the listening line and a 200 from /readyz; default 60 s. A start takes
   * about a second, but on a busy 2-core host loading the modules alone has taken twenty.
   */
  startTimeoutMs?: number;
  /** At most this many log lines are kept (the newest); default 20,000. */
  maxLogLines?: number;
  /** For a server with TLS_CERT_FILE: the certificate that signed its own (a self-signed one itself), trusted for /readyz. */
  tlsCa?: string | Buffer;
  /** Copies the child's output to this process's stderr, for debugging a test. */
  echo?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A parsed pino log line. */
export type LogEntry = Record<string, unknown>;

export interface ServerProcess {
  /** `http://127.0.0.1:<port>` (`https:` with TLS), as the server logged it. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Raw stdout and stderr lines of every run so far, oldest first. */
  readonly logs: string[];
  /** How long the current run took from spawn to the listening line and to /readyz answering 200. */
  readonly startup: { listeningMs: number; readyMs: number };
  /**
   * Resolves with the first JSON log line of the current run that matches, including lines
   * already logged; rejects on timeout (default 10 s) or when the process exits first.
   */
  waitForLog(predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** Sends a signal to the current run; `kill('SIGKILL')` for crash tests. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the current run has exited. */
  waitForExit(): Promise<ExitStatus>;
  /** Stops the current run if it is still up (SIGTERM), then starts again with the same env, DATA_DIR and port. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 10 s), then removes the temp DATA_DIR if this call made it. Safe to call twice. */
  stop(): Promise<void>;
}

interface Run {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  hasExited: boolean;
  entries: LogEntry[];
  listeners: Set<(entry: LogEntry | null) => void>;
}

/** Children still running, killed if this process exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** GET /readyz's status, 0 when it does not answer within 2 s; over HTTPS trusting `ca`. */
function readyzStatus(url: string, ca: string | Buffer | undefined): Promise<number> {
  return new Promise((resolve) => {
    const target = `${url}/readyz`;
    const done = (res: IncomingMessage) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    };
    const req = url.startsWith('https:')
      ? httpsGet(target, { ca, timeout: 2_000, agent: false }, done)
      : httpGet(target, { timeout: 2_000, agent: false }, done);
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(lines: string[], count = 40): string {
  return lines.slice(-count).join('\n');
}

/**
 * Starts the server as a child process and resolves once it listens and /readyz answers 200.
 *
 * @throws when the process exits or does not become ready in time; the message carries its last log lines.
 */
export async function startServerProcess(options: ServerProcessOptions = {}): Promise<ServerProcess> {
  installExitHook();
  const entry = options.entry ?? DEFAULT_ENTRY;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const maxLogLines = options.maxLogLines ?? 20_000;
  const ownedRoot = options.dataDir === undefined ? await makeTempDir('simmer-server-') : null;
  const dataDir = options.dataDir ?? join(ownedRoot!, 'data');
  await mkdir(dataDir, { recursive: true });
  const cwd = options.cwd ?? ownedRoot ?? dataDir;

  const baseEnv: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }
  const env: Record<string, string> = { ...baseEnv, HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }

  const logs: string[] = [];
  let run: Run;
  let url = '';
  let port = 0;
  let startup = { listeningMs: 0, readyMs: 0 };
  let stopped = false;

  const record = (line: string, current: Run): void => {
    logs.push(line);
    // Trim in halves so a chatty server costs amortized O(1) per line.
    if (logs.length > maxLogLines) logs.splice(0, logs.length - Math.floor(maxLogLines / 2));
    if (options.echo) process.stderr.write(`[server ${current.child.pid}] ${line}\n`);
    if (!line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object') return;
    current.entries.push(parsed as LogEntry);
    if (current.entries.length > maxLogLines) current.entries.splice(0, current.entries.length - Math.floor(maxLogLines / 2));
    for (const listener of [...current.listeners]) listener(parsed as LogEntry);
  };

  const waitForEntry = (current: Run, predicate: (entry: LogEntry) => boolean, timeoutMs: number, what: string): Promise<LogEntry> =>
    new Promise((resolve, reject) => {
      const seen = current.entries.find(predicate);
      if (seen) {
        resolve(seen);
        return;
      }
      if (current.hasExited) {
        reject(new Error(`server exited before ${what}:\n${tail(logs)}`));
        return;
      }
      const timer = setTimeout(() => {
        current.listeners.delete(listener);
        reject(new Error(`server did not log ${what} within ${timeoutMs} ms:\n${tail(logs)}`));
      }, timeoutMs);
      const listener = (logged: LogEntry | null): void => {
        if (logged === null) {
          clearTimeout(timer);
          current.listeners.delete(listener);
          void current.exited.then((status) =>
            reject(new Error(`server exited (code ${status.code}, signal ${status.signal}) before ${what}:\n${tail(logs)}`)),
          );
        } else if (predicate(logged)) {
          clearTimeout(timer);
          current.listeners.delete(listener);
          resolve(logged);
        }
      };
      current.listeners.add(listener);
    });

  const spawnRun = (): Run => {
    const args = [...(options.nodeArgs ?? []), entry];
    const child =
      options.openFileLimit === undefined
        ? spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn('bash', ['-c', `ulimit -n ${Math.floor(options.openFileLimit)} && exec "$0" "$@"`, process.execPath, ...args], {
            cwd,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    liveChildren.add(child);
    const current: Run = {
      child,
      exited: Promise.resolve({ code: null, signal: null }),
      hasExited: false,
      entries: [],
      listeners: new Set(),
    };
    let streamsOpen = 2;
    let exitStatus: ExitStatus | null = null;
    let settleExit: (status: ExitStatus) => void = () => {};
    current.exited = new Promise((resolve) => (settleExit = resolve));
    // Exit counts once the output is read to the end, so the last lines are in `logs`.
    const maybeExited = (): void => {
      if (exitStatus === null || streamsOpen > 0 || current.hasExited) return;
      current.hasExited = true;
      liveChildren.delete(child);
      for (const listener of [...current.listeners]) listener(null);
      settleExit(exitStatus);
    };
    for (const stream of [child.stdout, child.stderr]) {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => record(line, current));
      lines.on('close', () => {
        streamsOpen -= 1;
        maybeExited();
      });
    }
    child.on('error', (error) => record(`[testkit] could not run ${entry}: ${error.message}`, current));
    child.on('exit', (code, signal) => {
      exitStatus = { code, signal };
      maybeExited();
    });
    return current;
  };

  const waitForReady = async (current: Run): Promise<void> => {
    const spawnedAt = performance.now();
    const deadline = Date.now() + startTimeoutMs;
    let listening: LogEntry;
    try {
      listening = await waitForEntry(
        current,
        (e) => e.msg === 'listening' && typeof e.url === 'string',
        startTimeoutMs,
        'its "listening" line',
      );
    } catch (error) {
      current.child.kill('SIGKILL');
      throw error;
    }
    const listeningMs = performance.now() - spawnedAt;
    url = String(listening.url).replace(/\/+$/, '');
    port = Number(new URL(url).port);
    for (;;) {
      if (current.hasExited) throw new Error(`server exited before /readyz answered 200:\n${tail(logs)}`);
      const status = await readyzStatus(url, options.tlsCa);
      if (status === 200) break;
      if (Date.now() > deadline) {
        current.child.kill('SIGKILL');
        throw new Error(`server at ${url} did not answer 200 on /readyz within ${startTimeoutMs} ms (last: ${status}):\n${tail(logs)}`);
      }
      // Readiness has no push signal from outside the process: poll briefly.
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    startup = { listeningMs, readyMs: performance.now() - spawnedAt };
  };

  const terminate = async (current: Run): Promise<void> => {
    if (current.hasExited) return;
    current.child.kill('SIGTERM');
    const timer = setTimeout(() => current.child.kill('SIGKILL'), 10_000);
    await current.exited;
    clearTimeout(timer);
  };

  run = spawnRun();
  try {
    await waitForReady(run);
  } catch (error) {
    await terminate(run);
    if (ownedRoot) await removeTempDir(ownedRoot);
    throw error;
  }

  return {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    get pid() {
      return run.child.pid ?? -1;
    },
    get child() {
      return run.child;
    },
    dataDir,
    logs,
    get startup() {
      return startup;
    },
    waitForLog(predicate, timeoutMs = 10_000) {
      return waitForEntry(run, predicate, timeoutMs, 'the awaited line');
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!run.hasExited) run.child.kill(signal);
    },
    waitForExit() {
      return run.exited;
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await terminate(run);
      env.PORT = String(port);
      run = spawnRun();
      await waitForReady(run);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(run);
      if (ownedRoot) await removeTempDir(ownedRoot);
    },
  };
}
