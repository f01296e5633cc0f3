// JSON that keeps the order of an object's members. JSON.parse and
// JSON.stringify put integer-like keys ("2", "10") first in ascending order,
// whatever order the client sent; a dictionary such as CustomProperties must
// come back, and be stored, in the order it was given. Objects are Maps here.

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export type JsonObject = ReadonlyMap<string, JsonValue>;

/** What `stringifyJson` writes: JSON values, with objects either as Maps (ordered) or as plain records. */
export type JsonOut =
  | null
  | boolean
  | number
  | string
  | readonly JsonOut[]
  | ReadonlyMap<string, JsonOut>
  | { readonly [key: string]: JsonOut };

/** Nesting beyond this is refused: the parser recurses, and no request needs more. */
export const MAX_JSON_DEPTH = 64;

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

const WHITE_SPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// Characters a string may hold as they are: not a quote, a backslash or a control character.
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON strings may not hold raw
const PLAIN_TEXT = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): JsonValue {
    this.space();
    const value = this.value(0);
    this.space();
    if (this.at < this.text.length) this.fail('unexpected text after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new JsonSyntaxError(`${what} at character ${this.at + 1}`);
  }

  private match(pattern: RegExp): string {
    pattern.lastIndex = this.at;
    const found = pattern.exec(this.text)?.[0] ?? '';
    this.at += found.length;
    return found;
  }

  private space(): void {
    this.match(WHITE_SPACE);
  }

  private value(depth: number): JsonValue {
    const next = this.text[this.at];
    if (next === '{' || next === '[') {
      if (depth >= MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
      return next === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (next === '"') return this.string();
    if (this.text.startsWith('true', this.at)) return this.literal('true', true);
    if (this.text.startsWith('false', this.at)) return this.literal('false', false);
    if (this.text.startsWith('null', this.at)) return this.literal('null', null);
    const number = this.match(NUMBER);
    if (number === '') this.fail(next === undefined ? 'unexpected end of input' : 'unexpected character');
    return Number(number);
  }

  private literal<T>(word: string, value: T): T {
    this.at += word.length;
    return value;
  }

  private expect(character: string): void {
    if (this.text[this.at] !== character) this.fail(`expected "${character}"`);
    this.at += 1;
  }

  private object(depth: number): JsonObject {
    this.expect('{');
    // Duplicate names: the last value wins, in the first one's place, as with JSON.parse.
    const members = new Map<string, JsonValue>();
    this.space();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return members;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail('expected a member name in double quotes');
      const name = this.string();
      this.space();
      this.expect(':');
      this.space();
      members.set(name, this.value(depth));
      this.space();
      if (this.text[this.at] === '}') {
        this.at += 1;
        return members;
      }
      this.expect(',');
    }
  }

  private array(depth: number): JsonValue[] {
    this.expect('[');
    const items: JsonValue[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at += 1;
      return items;
    }
    for (;;) {
      this.space();
      items.push(this.value(depth));
      this.space();
      if (this.text[this.at] === ']') {
        this.at += 1;
        return items;
      }
      this.expect(',');
    }
  }

  private string(): string {
    this.expect('"');
    let result = '';
    for (;;) {
      result += this.match(PLAIN_TEXT);
      const next = this.text[this.at];
      if (next === '"') {
        this.at += 1;
        return result;
      }
      if (next !== '\\') this.fail(next === undefined ? 'unterminated string' : 'control character in a string');
      this.at += 1;
      const escape = this.text[this.at] ?? '';
      this.at += 1;
      if (escape === 'u') {
        const hex = this.match(HEX4);
        if (hex === '') this.fail('expected four hex digits after \\u');
        // A lone surrogate is kept, as JSON.parse keeps it; the input rules refuse it.
        result += String.fromCharCode(parseInt(hex, 16));
      } else {
        const character = ESCAPES[escape];
        if (character === undefined) this.fail('unknown escape sequence');
        result += character;
      }
    }
  }
}

/** Parses JSON text as JSON.parse does, but with objects as Maps in the order their members came. */
export function parseJson(text: string): JsonValue {
  return new Parser(text).document();
}

/** JSON text of `value`; Map members are written in the Map's order. */
export function stringifyJson(value: JsonOut): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
  const entries: Iterable<readonly [string, JsonOut]> = value instanceof Map ? value.entries() : Object.entries(value);
  const members: string[] = [];
  for (const [key, member] of entries) members.push(`${JSON.stringify(key)}:${stringifyJson(member)}`);
  return `{${members.join(',')}}`;
}
