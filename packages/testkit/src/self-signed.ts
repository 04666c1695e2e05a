/**
 * Self-signed certificates for tests of the server's HTTPS: made with the machine's `openssl`, for
 * `localhost` and 127.0.0.1, each with its own key (so two of them tell a reload apart).
 */

import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCertificate {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint, as `X509Certificate.fingerprint256` and a TLS peer certificate give it. */
  fingerprint256: string;
}

/** Writes `<name>.cert.pem` and `<name>.key.pem` into `dir` (an EC P-256 key: quick to make). */
export async function makeSelfSignedCertificate(dir: string, name = 'server', commonName = 'localhost'): Promise<SelfSignedCertificate> {
  const certFile = join(dir, `${name}.cert.pem`);
  const keyFile = join(dir, `${name}.key.pem`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  return { certFile, keyFile, cert, key, fingerprint256: new X509Certificate(cert).fingerprint256 };
}
