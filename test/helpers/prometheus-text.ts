// Reading the Prometheus text exposition (/metrics) in tests: every sample
// with its labels, found by name and labels.
import { expect } from 'vitest';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let parsed = 0;
  LABEL.lastIndex = 0;
  for (let match = LABEL.exec(text); match; match = LABEL.exec(text)) {
    const [, name = '', value = ''] = match;
    labels[name] = value.replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char));
    parsed = LABEL.lastIndex;
  }
  expect(parsed, `labels not parsed whole: ${text}`).toBe(text.length);
  return labels;
}

/** Every sample of an exposition; a line that is neither a comment nor a sample fails the test. */
export function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = SAMPLE.exec(line);
      expect(match, `not a sample line: ${line}`).not.toBeNull();
      const [, name = '', labels = '', value = ''] = match ?? [];
      return { name, labels: labelsOf(labels), value: Number(value) };
    });
}

/** The samples named `name` whose labels include `labels`. */
export function samples(all: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return all.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of the one sample named `name` with exactly `labels` (0 when there is none, as for a counter not yet counted). */
export function valueOf(all: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples(all, name, labels).filter(
    (sample) => Object.keys(sample.labels).length === Object.keys(labels).length,
  );
  expect(found.length, `${name} ${JSON.stringify(labels)} appears more than once`).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}
