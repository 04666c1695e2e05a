// `npm run docs:settings`: writes the README's configuration table from the settings table.
import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../src/config/readme-table.js';

const readme = new URL('../../../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = withSettingsTable(before);
if (after === before) console.log('README.md: the settings table is up to date');
else {
  writeFileSync(readme, after);
  console.log('README.md: settings table written');
}
