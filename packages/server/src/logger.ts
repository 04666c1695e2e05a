import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';

/**
 * JSON lines for machines; pretty only on a terminal, and only where pino-pretty is installed (a
 * dev dependency: a production install leaves it out and keeps JSON). Secrets are redacted
 * wherever they might appear.
 */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: [
        'accessKey',
        '*.accessKey',
        'unsplashAccessKey',
        '*.unsplashAccessKey',
        'headers.authorization',
        '*.headers.authorization',
        'databaseUrl',
        '*.databaseUrl',
      ],
      censor: '[redacted]',
    },
    ...(process.stdout.isTTY && isInstalled('pino-pretty')
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
      : {}),
  });
}

function isInstalled(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
