// Leaf values for the fuzz: realistic ones, and the edge cases the input
// rules must refuse cleanly (boundary lengths, unicode, lone surrogates, NUL,
// out-of-range numbers, wrong types). No generator here makes U+FFFD: the
// invariants treat a stored U+FFFD as invalid UTF-8 that slipped through.
import fc from 'fast-check';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

const withoutReplacementChar = (text: string): boolean => !text.includes('\uFFFD');

/** Lengths at and around every limit the schema states (1, 10, 50, 64, 100, 200, 500, 1000, 4000). */
const BOUNDARY_LENGTHS = [
  0, 1, 9, 10, 11, 49, 50, 51, 64, 65, 99, 100, 101, 199, 200, 201, 500, 501, 1000, 1001, 4000, 4001,
];
// One UTF-16 unit, two units (outside the BMP: one code point, two units), a combining mark, CJK.
const REPEATED_UNITS = ['x', 'é', '😀', '\u0301', '字', ' '];

const SPECIAL_STRINGS = [
  '',
  ' ',
  '   ',
  '\n\t',
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '\uDBFF\uDBFF',
  '😀'.slice(0, 1),
  '\uFEFF',
  '\u202Eevil',
  "'; DROP TABLE cases; --",
  '\\',
  '"',
  '%s%n%x',
  '${process.env}',
  '<script>alert(1)</script>',
  'null',
  '__proto__',
  'constructor',
  '🏳️‍🌈👩‍👩‍👧‍👦',
];

/** Short text a person could type. */
export const plainString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme-ascii' }).filter((text) => text.trim().length > 0),
  fc.constantFrom('Transcript request', 'Lost card', 'Enrolment', 'Ünïcødé ✓', '申请', 'مرحبا'),
);

/** Text meant to break something: boundary lengths, odd code points, or arbitrary unicode. */
export const edgeString: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...BOUNDARY_LENGTHS), fc.constantFrom(...REPEATED_UNITS))
    .map(([length, unit]) => unit.repeat(length)),
  fc.constantFrom(...SPECIAL_STRINGS),
  fc.string({ maxLength: 40, unit: 'binary' }).filter(withoutReplacementChar),
  fc.string({ maxLength: 40, unit: 'grapheme' }).filter(withoutReplacementChar),
);

export const anyString = (edgy: boolean): fc.Arbitrary<string> =>
  edgy ? fc.oneof({ arbitrary: edgeString, weight: 3 }, { arbitrary: plainString, weight: 1 }) : plainString;

/** Integers at the edges of GraphQL's Int (32-bit) and of JavaScript's numbers. */
export const edgeInt: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -1, 1, -0, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e20, 1.5),
  fc.integer(),
);

/** A value of the wrong type for whatever it is put in. */
export const wrongType: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  '1',
  'true',
  '',
  1,
  0.5,
  true,
  [],
  [1, 2],
  {},
  { id: 1 },
  'x'.repeat(5000),
);

export const agentName: fc.Arbitrary<string> = fc.constantFrom('desk-1', 'desk-2', 'desk-3', 'kiosk', 'Ágota', '窓口4');

export const VALID_TIME_ZONES = [
  'UTC',
  'Europe/Dublin',
  'Pacific/Auckland',
  'Pacific/Kiritimati',
  'Pacific/Pago_Pago',
  'America/St_Johns',
  'Asia/Kathmandu',
];
const INVALID_TIME_ZONES = ['Mars/Olympus', 'utc ', '+14:00', 'Etc/GMT+99', '../../etc/passwd', 'x'.repeat(65), ''];

export const timeZone = (edgy: boolean): fc.Arbitrary<string> =>
  edgy
    ? fc.oneof(fc.constantFrom(...VALID_TIME_ZONES), fc.constantFrom(...INVALID_TIME_ZONES), edgeString)
    : fc.constantFrom(...VALID_TIME_ZONES);

export const queueCode = (edgy: boolean): fc.Arbitrary<string> => {
  const valid = fc.stringMatching(/^[A-Z0-9]{1,10}$/);
  return edgy ? fc.oneof(valid, fc.constantFrom('a', 'ABCDEFGHIJK', 'Ä', 'A-1', 'A\u0000'), edgeString) : valid;
};

const base64url = (text: string): string => Buffer.from(text).toString('base64url');

/** Queue cursors as a client could forge them: out-of-range times and sequences, or garbage. */
export const forgedCursor: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        '0',
        '-1',
        '-62135596800001', // just before year 1
        '-62198755200000',
        '-8640000000000000',
        '8640000000000000',
        '8640000000000001',
        '999999999999999',
        '-999999999999999',
        String(Date.now()),
      ),
      fc.constantFrom('0', '1', '9223372036854775807', '9223372036854775808', '9999999999999999999', '-1'),
    )
    .map(([millis, seq]) => base64url(`${millis}:${seq}`)),
  fc.constantFrom('', '!!', 'a', base64url('x:y'), base64url('1:'), 'x'.repeat(201)),
  edgeString,
);
