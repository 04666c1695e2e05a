import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/** JSON lines for machines; pretty only on a terminal. Secrets are redacted wherever they might appear. */
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
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
