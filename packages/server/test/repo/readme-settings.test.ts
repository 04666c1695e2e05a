import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { withSettingsTable } from '../../src/config/readme-table.js';
import { SETTINGS, envName } from '../../src/config/settings.js';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

describe('the settings table', () => {
  it('is the README configuration table (npm run docs:settings writes it)', () => {
    expect(withSettingsTable(readme), 'README.md is out of date: run npm run docs:settings').toBe(readme);
  });

  it('names every setting in the README', () => {
    for (const key of Object.keys(SETTINGS)) expect(readme).toContain(`| \`${envName(key)}\` |`);
  });

  it('has defaults that its own kinds accept', () => {
    expect(() => loadConfig({})).not.toThrow();
  });
});
