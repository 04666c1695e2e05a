/** The only reader of process.env: `loadConfig` reads every setting of the table in settings.ts. */

import { SettingProblem } from './kinds.js';
import { CROSS_CHECKS, SETTINGS, envName, type Config } from './settings.js';

export type { Config } from './settings.js';
export type Role = Config['role'];
export type LogLevel = Config['logLevel'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type Key = keyof typeof SETTINGS;

/**
 * Validates the environment, listing every bad variable at once, and returns a frozen Config. An
 * unset or empty variable takes its default; `defaults` replaces table defaults that are only known
 * at start (the built page's directory).
 */
export function loadConfig(env: Env, defaults: Partial<Config> = {}): Readonly<Config> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as Key[]) {
    const setting: { kind: { read(raw: string, name: string): unknown }; default: unknown } = SETTINGS[key];
    const name = envName(key);
    const raw = env[name];
    values[key] = key in defaults ? defaults[key] : setting.default;
    if (raw === undefined || raw === '') continue;
    try {
      values[key] = setting.kind.read(raw, name);
    } catch (error) {
      if (!(error instanceof SettingProblem)) throw error;
      problems.push(error.message);
    }
  }
  const config = values as Config;
  for (const check of CROSS_CHECKS) {
    const problem = check(config);
    if (problem !== null) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
