// Tests mirror src/: a module's tests are found by its path (src/queue/x.ts
// in test/queue/, src/config.ts in test/config.test.ts). A test file left at
// the top of test/ for a module in a folder of src/, or a folder of test/ that
// src/ does not have, fails here.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/config.js';

const TEST_DIR = join(PROJECT_ROOT, 'test');
const SRC_DIR = join(PROJECT_ROOT, 'src');

/** Folders of test/ that mirror no folder of src/. */
const OWN_FOLDERS = new Set([
  'helpers', // what the tests share
  'reliability', // npm run test:reliability
  'failover', // npm run test:failover
  'browser', // tests in a real browser
  'scripts', // mirrors scripts/
  'examples', // mirrors examples/
]);

const entries = readdirSync(TEST_DIR, { withFileTypes: true });

describe('the layout of test/', () => {
  it('has at its top only tests of the modules at the top of src/ (and this file)', () => {
    const strays = entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts') && entry.name !== 'layout.test.ts')
      .filter((entry) => !existsSync(join(SRC_DIR, entry.name.replace(/\.test\.ts$/, '.ts'))))
      .map((entry) => entry.name);
    expect(strays).toEqual([]);
  });

  it('has a folder only where src/ has one of that name', () => {
    const strays = entries
      .filter((entry) => entry.isDirectory() && !OWN_FOLDERS.has(entry.name))
      .filter((entry) => !existsSync(join(SRC_DIR, entry.name)))
      .map((entry) => entry.name);
    expect(strays).toEqual([]);
  });
});
