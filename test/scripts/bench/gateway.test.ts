// The benchmark must measure the gateway as `npm start` runs it: the same
// node options, variables and script, read from package.json's start script.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/config.js';
import { startCommand } from '../../../scripts/bench/gateway.js';

const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const buildConfig = JSON.parse(readFileSync(join(PROJECT_ROOT, 'tsconfig.build.json'), 'utf8')) as {
  compilerOptions: { outDir: string; rootDir: string; sourceMap: boolean };
};

describe('the gateway the benchmark starts', () => {
  it('is the compiled main module that npm start runs after building, with its options and variables', () => {
    const start = manifest.scripts['start'] ?? '';
    expect(start.startsWith('npm run build')).toBe(true);
    const command = startCommand(start);
    const { outDir, rootDir, sourceMap } = buildConfig.compilerOptions;
    expect(command.script).toBe(`${outDir}/main.js`);
    expect(rootDir).toBe('src');
    // Stack traces name src/ lines.
    expect(sourceMap).toBe(true);
    expect(command.nodeArgs).toContain('--enable-source-maps');
    expect(command.env).toEqual({ MALLOC_ARENA_MAX: '2' });
  });

  it('reads a start script with or without a build before it', () => {
    expect(startCommand('A=1 B=two exec node --x=1 --y dist/main.js')).toEqual({
      env: { A: '1', B: 'two' },
      nodeArgs: ['--x=1', '--y'],
      script: 'dist/main.js',
    });
    expect(startCommand('npm run build && node main.js')).toEqual({ env: {}, nodeArgs: [], script: 'main.js' });
  });

  it('refuses a start script that does not end in a node command', () => {
    expect(() => startCommand('tsx src/main.ts')).toThrow(/node \[options\] script/);
    expect(() => startCommand('node --inspect')).toThrow(/node \[options\] script/);
    expect(() => startCommand('')).toThrow(/node \[options\] script/);
  });
});
