import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { systemClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createImageSource } from './images/create-image-source.js';
import { loadDemoArtwork } from './images/demo/artwork.js';
import { RetentionSweeper } from './jobs/retention-sweeper.js';
import { createScheduler } from './jobs/create-scheduler.js';
import { readTlsCredentials, TlsReloader, type SecureContextTarget } from './http/tls.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { openStore } from './store/open-store.js';

/** Exit codes: 78 bad configuration (EX_CONFIG), 70 the disk failed under the journal (EX_SOFTWARE). */
const EXIT_CONFIG = 78;
const EXIT_FATAL = 70;
/** The longest a worker holds back its HTTP side for the jobs due at its start. */
const WORKER_HTTP_DELAY_MAX_MS = 1_000;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env, { webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)) });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(EXIT_CONFIG);
  }

  const logger = createLogger(config);
  const tlsFiles = config.tlsCertFile && config.tlsKeyFile ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : null;
  let tls = null;
  if (tlsFiles) {
    try {
      tls = await readTlsCredentials(tlsFiles);
    } catch (error) {
      console.error((error as Error).message);
      process.exit(EXIT_CONFIG);
    }
  }
  const metrics = createMetrics();
  const clock = systemClock;
  const store = await openStore(config, logger, (error) => {
    // See JournalWriter: after a failed fsync, only a restart and recovery are safe.
    logger.fatal({ err: error }, 'the journal could not be written; stopping');
    process.exit(EXIT_FATAL);
  });
  const imageSource = createImageSource(config, logger, metrics);
  const scheduler =
    config.role === 'api'
      ? null
      : createScheduler(config, { store, imageSource, clock, logger, metrics, owner: `${hostname()}:${process.pid}` });

  // Every process that runs jobs sweeps; the store makes concurrent sweeps safe.
  const sweeper =
    config.role === 'api'
      ? null
      : new RetentionSweeper({ store, clock, logger, retentionMs: config.jobRetentionMs, keyTtlMs: config.idempotencyKeyTtlMs });

  // Jobs start before the HTTP side has loaded: a new worker takes its first job as soon as its
  // store is open. Loading Fastify and the routes holds the event loop for ~0.4 s, so a worker
  // loads them only once the jobs due at its start are written (or after a second at most).
  const firstJobs = scheduler?.start();
  sweeper?.start();
  const httpFirst =
    config.role === 'worker' && firstJobs
      ? Promise.race([firstJobs, new Promise((resolve) => setTimeout(resolve, WORKER_HTTP_DELAY_MAX_MS))])
      : null;
  // The demo artwork (a 9 MB icon set: some 0.1 s of parsing) is read before the app is built:
  // parsed just after listening, it held up the first requests and, on a busy host, read as overload.
  const artwork =
    imageSource.name === 'demo' && config.role !== 'worker'
      ? loadDemoArtwork().catch((error: unknown) => logger.warn({ err: error }, 'could not load the demo artwork'))
      : null;
  const appReady = Promise.all([(httpFirst ?? Promise.resolve()).then(() => import('./app.js')), artwork]).then(([{ buildApp }]) =>
    buildApp({ config, store, imageSource, clock, logger, metrics, tls }),
  );

  let tlsReloader: TlsReloader | null = null;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing writes');
    tlsReloader?.close();
    try {
      // HTTP, jobs and the retention sweep stop side by side: the scheduler claims nothing more
      // from the signal on, and the store closes only once every outcome it could write is written.
      await Promise.all([appReady.then((app) => app.close()), scheduler?.stop(), sweeper?.stop()]);
      await imageSource.close();
      await store.close();
      logger.info('shut down cleanly');
      // Logs are written asynchronously: let the last lines out before the process goes.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));

  const app = await appReady;
  if (stopping) return; // a signal came while the HTTP side loaded: shutdown has it
  await app.listen({ port: config.port, host: config.host });
  if (tlsFiles && tls) {
    // A renewed certificate (a changed file, or SIGHUP) applies to new connections; open ones carry on.
    tlsReloader = new TlsReloader(tlsFiles, tls, app.server as unknown as SecureContextTarget, logger);
    const reloader = tlsReloader;
    process.on('SIGHUP', () => void reloader.reload('SIGHUP'));
    reloader.watch();
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  await logLimits(logger, config);
  logger.info(
    { url: `${tls ? 'https' : 'http'}://${host}:${port}`, port, role: config.role, store: config.store, imageSource: imageSource.name },
    'listening',
  );
}

/** What bounds this process, said once at start; and the risks an operator chose. */
async function logLimits(logger: ReturnType<typeof createLogger>, config: Readonly<Config>): Promise<void> {
  // Loaded with the app already (main loads the HTTP side late, for workers).
  const { connectionLimits, openFileLimits } = await import('./http/limits/connections.js');
  const openFiles = openFileLimits();
  const connections = connectionLimits(config);
  logger.info(
    {
      openFiles,
      maxConnections: connections.maxConnections,
      maxConnectionsPerClient: connections.maxConnectionsPerClient,
      maxStoredJobs: config.maxStoredJobs,
      maxPendingJobs: config.maxPendingJobs,
      allowedHosts: config.allowedHosts,
      trustProxy: config.trustProxy,
    },
    'limits',
  );
  if (openFiles !== null && connections.maxConnections > openFiles.soft) {
    logger.warn(
      { maxConnections: connections.maxConnections, openFiles },
      'MAX_CONNECTIONS is above the open-file limit: past the limit new connections are refused by the kernel, not by the cap (raise it with ulimit -n)',
    );
  }
  if (config.trustProxy === true) {
    logger.warn(
      'TRUST_PROXY=true believes X-Forwarded-For from any peer: a client that reaches this port directly can name itself anything and pass every per-client limit. Use it only when every request comes through your proxy; prefer its addresses.',
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
