// Every code a client reads is checked by the compiler (queue/error-codes.ts):
// HTTP and REST bodies take an ErrorCode, GraphQL errors are built by
// graphqlError with a GraphQLErrorCode. A code written by hand into an
// `extensions` object escapes that check, so any left in src/ fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.js';

const SRC_DIR = join(PROJECT_ROOT, 'src');
/** Where the codes are spelled out, and Prisma's generated client (none of ours). */
const EXEMPT = [join(SRC_DIR, 'queue', 'error-codes.ts'), join(SRC_DIR, 'generated')];

const EXTENSIONS_OPENING = /\bextensions\s*:\s*\{/g;
const LITERAL_CODE = /\bcode\s*:\s*['"`]/g;

/** The `{ ... }` object that opens at `start`: braces counted, which is enough for extensions objects. */
function objectAt(text: string, start: number): string {
  let depth = 0;
  for (let at = start; at < text.length; at += 1) {
    if (text[at] === '{') depth += 1;
    else if (text[at] === '}' && --depth === 0) return text.slice(start, at + 1);
  }
  return text.slice(start);
}

const lineAt = (text: string, index: number): number => text.slice(0, index).split('\n').length;

/** `file:line` of every `code: '...'` written inside an `extensions: { ... }` object of `text`. */
function bareCodes(file: string, text: string): string[] {
  const found = new Set<string>();
  for (const opening of text.matchAll(EXTENSIONS_OPENING)) {
    const start = opening.index + opening[0].length - 1;
    for (const literal of objectAt(text, start).matchAll(LITERAL_CODE))
      found.add(`${file}:${lineAt(text, start + literal.index)}`);
  }
  return [...found];
}

function sourceFiles(): string[] {
  return readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' })
    .map((name) => join(SRC_DIR, name))
    .filter((path) => path.endsWith('.ts') && !EXEMPT.some((exempt) => path.startsWith(exempt)));
}

describe('error codes in src/', () => {
  it('finds a code written by hand into extensions, wherever in the object and on whichever line', () => {
    const text = [
      "new GraphQLError('a', { extensions: { code: 'FORBIDDEN' } });",
      "new GraphQLError('b', {",
      '  extensions: {',
      '    http: { status: 500 },',
      '    code: "INTERNAL_SERVER_ERROR",',
      '  },',
      '});',
      "context.addIssue({ code: 'custom' });",
      "graphqlError('c', 'FORBIDDEN', { fields });",
      'return { extensions: { ...formatted.extensions, code: BAD_USER_INPUT } };',
    ].join('\n');
    expect(bareCodes('x.ts', text)).toEqual(['x.ts:1', 'x.ts:5']);
  });

  it('has none outside error-codes.ts: each is a GraphQLErrorCode given to graphqlError, or a typed constant', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(50);
    const bare = files.flatMap((path) => bareCodes(relative(PROJECT_ROOT, path), readFileSync(path, 'utf8')));
    expect(bare).toEqual([]);
  });
});
