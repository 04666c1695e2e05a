/** The README's configuration table, written from the settings table. */

import { SETTINGS, envName } from './settings.js';

export const README_TABLE_START = '<!-- settings: written by `npm run docs:settings` from packages/server/src/config/settings.ts -->';
export const README_TABLE_END = '<!-- /settings -->';

export function renderSettingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([key, setting]) => {
    const shown = setting.shownDefault ?? (setting.kind.show as (value: unknown) => string)(setting.default);
    return `| \`${envName(key)}\` | ${shown} | ${setting.doc} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** `readme` with its settings table (between the markers) written anew; throws when the markers are missing. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(README_TABLE_START);
  const end = readme.indexOf(README_TABLE_END);
  if (start === -1 || end < start) throw new Error('README.md has no settings table markers');
  return `${readme.slice(0, start + README_TABLE_START.length)}\n${renderSettingsTable()}\n${readme.slice(end)}`;
}
