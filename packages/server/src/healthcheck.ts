/**
 * The container's health check (the image's HEALTHCHECK): GET /readyz of the server in this
 * container, through Node alone (the image has no curl). Exit 0 when it answers 200, 1 otherwise.
 * Reads the same settings as the server, so it asks the port and scheme the server listens on.
 */
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadConfig } from './config/config.js';

const TIMEOUT_MS = 4_000;

if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfig(process.env);
// A server on every address answers on loopback; one on a single address only there.
const host = config.host === '0.0.0.0' || config.host === '::' || config.host === '' ? '127.0.0.1' : config.host;
// With TLS, the certificate names the public host, not loopback: this asks its own server, so the
// name is not checked (the answer decides nothing but this container's health).
const request = config.tlsCertFile ? httpsRequest : httpRequest;
const req = request({ host, port: config.port, path: '/readyz', method: 'GET', timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
req.on('error', (error) => {
  console.error(`readyz: ${error.message}`);
  process.exit(1);
});
req.end();
