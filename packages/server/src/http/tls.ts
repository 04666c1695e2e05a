/**
 * HTTPS with HTTP/2: the certificate and key (TLS_CERT_FILE, TLS_KEY_FILE) read and checked, and
 * read again when they change (a renewal) or on SIGHUP. A new pair applies to new connections
 * only (`setSecureContext`): open connections, and the event streams on them, carry on.
 */

import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What can take a new certificate: Node's TLS servers (the HTTP/2 one among them). */
export interface SecureContextTarget {
  setSecureContext(options: TlsCredentials): void;
}

/** How often the files' modification times are looked at (a stat each; renames and symlink swaps are seen too). */
const WATCH_INTERVAL_MS = 2_000;

/** Reads the pair and checks it: PEM that parses, and a key that belongs to the certificate. Throws a sentence naming the files. */
export async function readTlsCredentials(files: TlsFiles): Promise<TlsCredentials> {
  let cert: Buffer;
  let key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  } catch (error) {
    throw new Error(`cannot read TLS_CERT_FILE / TLS_KEY_FILE: ${(error as Error).message}`, { cause: error });
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(
      `TLS_CERT_FILE (${files.certFile}) and TLS_KEY_FILE (${files.keyFile}) are not a usable pair: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { cert, key };
}

/**
 * Keeps a server's certificate current: `reload()` reads the files again and applies a pair that
 * is new and valid; a pair that does not load (half-written, mismatched) is logged and the server
 * keeps the one it has. `watch()` reloads whenever either file changes.
 */
export class TlsReloader {
  private current: TlsCredentials;
  private reloading: Promise<boolean> | null = null;
  private again = false;
  private watching = false;

  constructor(
    private readonly files: TlsFiles,
    initial: TlsCredentials,
    private readonly target: SecureContextTarget,
    private readonly logger: Logger,
  ) {
    this.current = initial;
  }

  /** Resolves true when a new pair was applied. Calls made during a reload run once more after it. */
  reload(reason: string): Promise<boolean> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = this.readAndApply(reason).finally(() => {
      this.reloading = null;
      if (this.again) {
        this.again = false;
        void this.reload(reason);
      }
    });
    return this.reloading;
  }

  watch(): void {
    if (this.watching) return;
    this.watching = true;
    for (const file of [this.files.certFile, this.files.keyFile]) {
      watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: false }, this.onChange);
    }
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const file of [this.files.certFile, this.files.keyFile]) unwatchFile(file, this.onChange);
  }

  private readonly onChange = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    void this.reload('file changed');
  };

  private async readAndApply(reason: string): Promise<boolean> {
    let next: TlsCredentials;
    try {
      next = await readTlsCredentials(this.files);
    } catch (error) {
      this.logger.error({ err: error, reason }, 'TLS certificate not reloaded; keeping the one in use');
      return false;
    }
    if (next.cert.equals(this.current.cert) && next.key.equals(this.current.key)) return false;
    this.target.setSecureContext(next);
    this.current = next;
    this.logger.info({ reason, certFile: this.files.certFile }, 'TLS certificate reloaded; new connections use it');
    return true;
  }
}
