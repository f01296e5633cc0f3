// npm run generate:settings
//   Writes the README's table of settings, between its SETTINGS TABLE
//   markers, from the settings src/config.ts declares (variable, default,
//   description), formatted as prettier formats it. test/settings.test.ts
//   fails when the committed table differs, and checks the tables in docs/.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { PROJECT_ROOT, SETTINGS } from '../src/config.js';
import { settingsTable } from '../src/settings.js';

export const README_FILE = join(PROJECT_ROOT, 'README.md');
const BEGIN = '<!-- SETTINGS TABLE: made from src/config.ts by npm run generate:settings; edit the settings there. -->';
const END = '<!-- END SETTINGS TABLE -->';

/** The README's table of settings, as the README holds it. */
export async function generatedSettingsTable(): Promise<string> {
  const options = await resolveConfig(README_FILE);
  return format(settingsTable(SETTINGS), { ...options, parser: 'markdown' });
}

/** Where the table of `readme` starts and ends: just after its first marker, and at its second. */
function tablePlace(readme: string): { readonly start: number; readonly end: number } {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin === -1 || end < begin) throw new Error(`README.md has lost its markers ${BEGIN} and ${END}`);
  return { start: begin + BEGIN.length, end };
}

/** The table `readme` holds between its markers. */
export function committedSettingsTable(readme: string): string {
  const { start, end } = tablePlace(readme);
  return readme.slice(start, end).trim() + '\n';
}

/** `readme` with the generated table between its markers. */
export async function withSettingsTable(readme: string): Promise<string> {
  const { start, end } = tablePlace(readme);
  return `${readme.slice(0, start)}\n\n${await generatedSettingsTable()}\n${readme.slice(end)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const readme = await readFile(README_FILE, 'utf8');
  const updated = await withSettingsTable(readme);
  if (updated === readme) console.log(`README.md: the settings table is up to date (${SETTINGS.length} settings)`);
  else {
    await writeFile(README_FILE, updated);
    console.log(`README.md: settings table written (${SETTINGS.length} settings)`);
  }
}
