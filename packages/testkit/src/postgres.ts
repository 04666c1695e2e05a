/**
 * A throwaway PostgreSQL server for tests, benchmarks and local demos: its own cluster in a temp
 * directory, listening on 127.0.0.1 and a free port, trust auth, deleted on stop.
 *
 * Needs PostgreSQL's server binaries (`scripts/ensure-postgres.sh` installs Debian's package).
 * A server refuses to run as root, so as root every command runs as the `postgres` user.
 */

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ThrowawayPostgres {
  /** Connection URL of the `postgres` database (superuser `postgres`, no password). */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory (deleted by `stop`). */
  readonly dataDir: string;
  /** Stops the server and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops the server for real and starts it again on the same port and data: every connection is
   * cut. `immediate` stops without a checkpoint, as a crash would (recovery replays the WAL).
   */
  restart(options?: { mode?: 'fast' | 'immediate'; downMs?: number }): Promise<void>;
  /** Stops the server and leaves it down until `start`, for outage tests. */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts a server stopped by `stopServer`. */
  start(): Promise<void>;
  /** Creates an empty database and returns its connection URL. */
  createDatabase(name: string): Promise<string>;
}

export interface StartPostgresOptions {
  /** Extra `postgresql.conf` settings, for example `{ max_connections: '300' }`. */
  settings?: Record<string, string>;
}

/** Where PostgreSQL's server binaries are: $PG_BIN, the newest /usr/lib/postgresql/<ver>/bin, or PATH. */
export function findPostgresBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv && existsSync(join(fromEnv, 'pg_ctl'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error('PostgreSQL server binaries not found: run scripts/ensure-postgres.sh (or set PG_BIN)');
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Every running throwaway server, stopped if the process exits without calling `stop`. */
const running = new Set<() => void>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const stopNow of running) stopNow();
  });
}

/**
 * Starts a fresh PostgreSQL cluster (initdb + `pg_ctl -w start`) on 127.0.0.1 and a free port.
 * Guarantees: nothing listens beyond loopback; the unix socket lives in the temp dir; `stop` (or
 * the process exiting) shuts the server down and deletes the directory.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<ThrowawayPostgres> {
  const binDir = findPostgresBinDir();
  const bin = (name: string): string => join(binDir, name);
  const asRoot = isRoot();
  // A server refuses to run as root: as root, run every server command as the `postgres` user.
  const command = (name: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', bin(name), ...args]] : [bin(name), args];
  const exec = async (name: string, args: string[]): Promise<void> => {
    const [file, argv] = command(name, args);
    try {
      await run(file, argv, { cwd: '/', env: { ...process.env, LC_ALL: 'C' } });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`, { cause: error });
    }
  };

  const root = await mkdtemp(join(tmpdir(), 'simmer-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  if (asRoot) {
    const { uid, gid } = postgresIds();
    await chown(root, uid, gid);
  }
  await chmod(root, 0o700);

  let port = 0;
  let up = false;
  let removed = false;

  const pgCtlStop = async (mode: 'fast' | 'immediate'): Promise<void> => {
    await exec('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '30', 'stop']);
    up = false;
  };
  const pgCtlStart = async (): Promise<void> => {
    await exec('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '30', 'start']);
    up = true;
  };
  const stopSync = (): void => {
    try {
      if (up) {
        const [file, argv] = command('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        execFileSync(file, argv, { stdio: 'ignore', cwd: '/' });
      }
    } catch {
      // Best effort at exit: the server may already be gone.
    }
    up = false;
  };

  try {
    // --no-sync: initdb's own final flush is what makes it slow, and a throwaway cluster does not
    // need to survive a machine crash. The server itself keeps fsync on.
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const settings: Record<string, string> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${root}'`,
      max_connections: '300',
      shared_buffers: "'64MB'",
      log_min_messages: 'warning',
      ...options.settings,
    };
    // The port is only known free until someone else binds it: retry a few times on a clash.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const conf = Object.entries({ ...settings, port: String(port) })
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n');
      await appendFile(join(dataDir, 'postgresql.conf'), `\n# throwaway test server\n${conf}\n`);
      try {
        await pgCtlStart();
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    stopSync();
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  running.add(stopSync);
  installExitHook();
  const urlFor = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;

  return {
    url: urlFor('postgres'),
    port,
    dataDir,
    async stop() {
      if (removed) return;
      running.delete(stopSync);
      if (up) await pgCtlStop('fast').catch(() => stopSync());
      removed = true;
      await rm(root, { recursive: true, force: true });
    },
    async restart({ mode = 'fast', downMs = 0 } = {}) {
      await pgCtlStop(mode);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await pgCtlStart();
    },
    async stopServer(mode = 'fast') {
      await pgCtlStop(mode);
    },
    async start() {
      if (!up) await pgCtlStart();
    },
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await exec('psql', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-qAt',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        `CREATE DATABASE ${name}`,
      ]);
      return urlFor(name);
    },
  };
}
