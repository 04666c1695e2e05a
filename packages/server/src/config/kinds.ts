/**
 * The kinds of value a setting can hold: how a raw environment string is read, and how a default
 * is shown in the README. A `read` returns the value or throws `SettingProblem` with a sentence
 * that names the variable.
 */

import { isIP } from 'node:net';

export class SettingProblem extends Error {}

export interface Kind<T> {
  /** Reads a non-empty raw value; `name` is the environment variable, for messages. */
  read(raw: string, name: string): T;
  /** The default as the README shows it (Markdown), or '' for none. */
  show(value: T): string;
}

const code = (text: string): string => `\`${text}\``;

/** A whole number in [min, max]; `unit` adds a reading of large values in words (30 days, 128 MiB). */
export function integer(min: number, max: number, unit?: 'ms' | 'bytes'): Kind<number> {
  return {
    read(raw, name) {
      if (!/^\d+$/.test(raw.trim())) throw new SettingProblem(`${name}=${JSON.stringify(raw)} is not a whole number`);
      const value = Number(raw.trim());
      if (value < min || value > max) throw new SettingProblem(`${name}=${raw} is out of range (${min} to ${max})`);
      return value;
    },
    show(value) {
      const words = unit === 'ms' ? duration(value) : unit === 'bytes' ? bytes(value) : null;
      return words ? `${code(String(value))} (${words})` : code(String(value));
    },
  };
}

function duration(ms: number): string | null {
  const units: [number, string][] = [
    [24 * 3600_000, 'day'],
    [3600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) {
    if (ms >= 10 * 60_000 && ms % size === 0) return `${ms / size} ${name}${ms === size ? '' : 's'}`;
  }
  return null;
}

function bytes(value: number): string | null {
  const mib = 1024 * 1024;
  return value >= mib && value % mib === 0 ? `${value / mib} MiB` : null;
}

/** Any text, as given (a path, a host name). */
export const text: Kind<string> = { read: (raw) => raw, show: (value) => code(value) };

/** A secret or an optional name: trimmed, and never shown. */
export const secret: Kind<string> = { read: (raw) => raw.trim(), show: () => '' };

/** One of a closed list. */
export function oneOf<const T extends string>(allowed: readonly T[]): Kind<T> {
  return {
    read(raw, name) {
      if (!(allowed as readonly string[]).includes(raw))
        throw new SettingProblem(`${name}=${JSON.stringify(raw)} must be one of ${allowed.join(', ')}`);
      return raw as T;
    },
    show: (value) => code(value),
  };
}

/** A URL with one of `protocols`; trailing slashes dropped. Never echoed in a message: it may hold a password. */
export function url(protocols: readonly string[]): Kind<string> {
  return {
    read(raw, name) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new SettingProblem(`${name} is not a valid URL`);
      }
      if (!protocols.includes(parsed.protocol))
        throw new SettingProblem(`${name} must use ${protocols.join(' or ')} (got ${parsed.protocol})`);
      return raw.replace(/\/+$/, '');
    },
    show: (value) => code(value),
  };
}

/** `true`/`false`, a hop count, or comma-separated addresses and CIDR ranges (Fastify's `trustProxy`). */
export const trustProxy: Kind<boolean | number | string[]> = {
  read(raw, name) {
    const value = raw.trim();
    if (value === '' || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isAddressOrRange(entry));
    if (bad.length > 0) {
      throw new SettingProblem(
        `${name} has ${bad.map((entry) => JSON.stringify(entry)).join(', ')}: use true, a hop count, or addresses and CIDR ranges`,
      );
    }
    return entries;
  },
  show: (value) => (value === false ? 'off' : code(String(value))),
};

function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

/** Comma-separated origins (scheme://host[:port]), as browsers send them in `Origin`. */
export const origins: Kind<string[]> = {
  read(raw, name) {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    return entries.map((entry) => {
      try {
        const parsed = new URL(entry);
        if ((parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === entry.replace(/\/$/, ''))
          return parsed.origin;
      } catch {
        // reported below
      }
      throw new SettingProblem(`${name} has ${JSON.stringify(entry)}: an origin is scheme://host[:port], nothing more`);
    });
  },
  show: (value) => (value.length === 0 ? '' : code(value.join(','))),
};

/** A kind whose value may be absent: null when the variable is unset, or empty once read (a blank secret). */
export function optional<T>(kind: Kind<T>): Kind<T | null> {
  return {
    read: (raw, name) => {
      const value = kind.read(raw, name);
      return value === '' ? null : value;
    },
    show: (value) => (value === null ? '' : kind.show(value)),
  };
}

/** Comma-separated host names (`simmer.example.com`), `*.example.com` for its subdomains, `*` for any; lower-cased. */
export const hostNames: Kind<string[]> = {
  read(raw, name) {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim().toLowerCase())
      .filter((entry) => entry !== '');
    for (const entry of entries) {
      if (entry !== '*' && !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(entry)) {
        throw new SettingProblem(
          `${name} has ${JSON.stringify(entry)}: a host name (example.com), *.example.com, or *; no scheme, port or path`,
        );
      }
    }
    return entries;
  },
  show: (value) => (value.length === 0 ? '' : code(value.join(','))),
};
