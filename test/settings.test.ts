// The tables of settings cannot drift from the settings src/config.ts
// declares: the README's is generated from them (npm run generate:settings)
// and must be what that makes today; the shorter ones in docs/ may word a
// setting for their page, but may only name real settings, with their
// defaults.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedSettingsTable, generatedSettingsTable, README_FILE } from '../scripts/settings-table.js';
import { PROJECT_ROOT, SETTINGS } from '../src/config.js';

interface Row {
  readonly where: string;
  readonly cells: readonly string[];
}

/** The rows of every markdown table in `text` whose second column is the default. */
function settingsRows(text: string, file: string): Row[] {
  const rows: Row[] = [];
  let header: readonly string[] | undefined;
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.startsWith('|')) {
      header = undefined;
      continue;
    }
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    if (header === undefined) header = cells;
    else if (header[1]?.toLowerCase() === 'default' && !/^:?-+:?$/.test(cells[0] ?? ''))
      rows.push({ where: `${file}:${index + 1}`, cells });
  }
  return rows;
}

/** A default as the tables write it: `1000`, 1000 and `(none)`, (none), — alike. */
const plainDefault = (cell: string) => {
  const plain = cell.replaceAll('`', '').trim();
  return plain === '—' ? '(none)' : plain;
};

describe('settings', () => {
  it('are each declared once, under a variable of their own, with a description', () => {
    const names = SETTINGS.map((each) => each.env);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(SETTINGS.map((each) => each.path.join('.'))).size).toBe(names.length);
    for (const each of SETTINGS) {
      expect(each.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(each.description.length, each.env).toBeGreaterThan(10);
    }
  });

  it('are tabled in the README as npm run generate:settings makes the table from src/config.ts', async () => {
    const committed = committedSettingsTable(await readFile(README_FILE, 'utf8'));
    expect(committed, "the README's table of settings is stale: run npm run generate:settings").toBe(
      await generatedSettingsTable(),
    );
  });

  it('are named in the tables of docs/ and the README by their variables, with their defaults', async () => {
    const files = [
      README_FILE,
      ...(await readdir(join(PROJECT_ROOT, 'docs')))
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(PROJECT_ROOT, 'docs', name)),
    ];
    const declared = new Map(SETTINGS.map((each) => [each.env, each]));
    const rows = (
      await Promise.all(
        files.map(async (file) => settingsRows(await readFile(file, 'utf8'), relative(PROJECT_ROOT, file))),
      )
    ).flat();
    expect(rows.length).toBeGreaterThan(SETTINGS.length);
    const problems = rows.flatMap(({ where, cells }) => {
      const names = [...(cells[0] ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? '');
      if (names.length === 0) return [`${where}: no variable in backticks`];
      return names.flatMap((name) => {
        const setting = declared.get(name);
        if (setting === undefined) return [`${where}: ${name} is not a setting in src/config.ts`];
        const [shown, declaredDefault] = [plainDefault(cells[1] ?? ''), plainDefault(setting.shownDefault)];
        return shown === declaredDefault ? [] : [`${where}: ${name} defaults to ${declaredDefault}, not ${shown}`];
      });
    });
    expect(problems).toEqual([]);
  });
});
