import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: './data',
      store: 'file',
      role: 'all',
      unsplashAccessKey: null,
      unsplashApiUrl: 'https://api.unsplash.com',
      jobDelayMinMs: 5_000,
      jobDelayMaxMs: 300_000,
      jobDelayStepMs: 5_000,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every bad variable at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'eighty', STORE: 'mysql', JOB_DELAY_MIN_MS: '-5', LOG_LEVEL: 'loud', UNSPLASH_API_URL: 'not a url' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(5);
    expect(error!.message).toMatch(/PORT="eighty" is not a whole number/);
    expect(error!.message).toMatch(/STORE="mysql" must be one of file, postgres/);
  });

  it('refuses inconsistent settings', () => {
    expect(() => loadConfig({ JOB_DELAY_MIN_MS: '9000', JOB_DELAY_MAX_MS: '1000' })).toThrow(/must not exceed/);
    expect(() => loadConfig({ EVENTS_HEARTBEAT_MS: '60000', EVENTS_STALL_TIMEOUT_MS: '30000' })).toThrow(/must exceed EVENTS_HEARTBEAT_MS/);
    expect(() => loadConfig({ STORE: 'postgres' })).toThrow(/needs DATABASE_URL/);
    expect(() => loadConfig({ ROLE: 'worker' })).toThrow(/ROLE=worker needs STORE=postgres/);
  });

  it('never echoes a database URL, which may hold a password', () => {
    expect(() => loadConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://u:secret@ho st/db' })).toThrow(
      /DATABASE_URL is not a valid URL/,
    );
    try {
      loadConfig({ STORE: 'postgres', DATABASE_URL: 'postgres://u:secret@ho st/db' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('trims a trailing slash from the Unsplash API URL and reads the key', () => {
    const config = loadConfig({ UNSPLASH_ACCESS_KEY: 'abc123', UNSPLASH_API_URL: 'http://127.0.0.1:9999/' });
    expect(config.unsplashApiUrl).toBe('http://127.0.0.1:9999');
    expect(config.unsplashAccessKey).toBe('abc123');
  });
});
