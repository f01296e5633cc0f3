// The report: one Markdown table (pasteable into the README), the ratios
// against their goals, then where PostgreSQL's time went in each row.
import type { StatementFigures } from './database.js';
import { kibAsMib, mib, type MemoryReading } from './memory.js';

export interface RowFigures {
  readonly label: string;
  readonly clients: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /**
   * CPU used in the measured window, % of one core; `gateway` is the server
   * the load went to (the gateway, or a peer on the peers' rows); `other` is
   * the rest of the machine (kernel, neighbours).
   */
  readonly cpu: { readonly gateway: number; readonly postgres: number; readonly load: number; readonly other: number };
  /** The statements that took the most server time in the window. */
  readonly statements: readonly StatementFigures[];
  /** Operations completed in the window (requests, inserts, claims or deliveries). */
  readonly operations: number;
  /** Fan-out only: the median, over changes, of when the last subscriber had it. */
  readonly lastDeliveryP50Ms?: number | undefined;
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));
const percent = (value: number) => `${Math.round(value)}`;

export function markdownTable(rows: readonly RowFigures[]): string {
  const header = [
    'what',
    'clients',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'server CPU %',
    'PostgreSQL CPU %',
    'load CPU %',
    'other CPU %',
  ];
  const lines = rows.map((row) => [
    row.label,
    String(row.clients),
    Math.round(row.perSecond).toString(),
    ms(row.p50Ms),
    ms(row.p99Ms),
    String(row.errors),
    percent(row.cpu.gateway),
    percent(row.cpu.postgres),
    percent(row.cpu.load),
    percent(row.cpu.other),
  ]);
  return table(header, lines);
}

export interface Goal {
  readonly atLeast?: number;
  readonly atMost?: number;
}

/** "name: 0.72× (goal ≥ 0.6×: met)"; a ratio with no goal is shown for information. */
export function ratioLine(name: string, ratio: number, goal?: Goal): string {
  const shown = `${name}: ${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'}×`;
  if (!goal) return `- ${shown}`;
  const met =
    (goal.atLeast === undefined || ratio >= goal.atLeast) && (goal.atMost === undefined || ratio <= goal.atMost);
  const wanted = goal.atLeast !== undefined ? `≥ ${goal.atLeast}×` : `≤ ${goal.atMost ?? '?'}×`;
  return `- ${shown} (goal ${wanted}: ${met ? 'met' : 'not met'})`;
}

/**
 * Per row, the statements that took the most server time: how many per
 * operation, how many rows each (a group commit's batch size), and their
 * planning and execution time.
 */
export function statementTable(rows: readonly RowFigures[]): string {
  const header = [
    'row',
    'clients',
    'statement',
    'per operation',
    'rows per call',
    'plan ms',
    'exec ms',
    'server ms per operation',
  ];
  const lines = rows.flatMap((row) =>
    row.statements
      .slice(0, 2)
      .map((statement) => [
        row.label,
        String(row.clients),
        statement.name.replace(/\|/g, '\\|'),
        (statement.calls / Math.max(1, row.operations)).toFixed(3),
        (statement.rows / Math.max(1, statement.calls)).toFixed(1),
        (statement.planMs / Math.max(1, statement.calls)).toFixed(3),
        (statement.execMs / Math.max(1, statement.calls)).toFixed(3),
        ((statement.planMs + statement.execMs) / Math.max(1, row.operations)).toFixed(3),
      ]),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (column === 0 || column === 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 || column === 2 ? '-'.repeat(width) : `${'-'.repeat(Math.max(1, width - 1))}:`)).join(' | ')} |`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/** One moment of the gateway's memory for the report. */
export interface MemoryRow {
  readonly when: string;
  readonly reading: MemoryReading | undefined;
}

/**
 * The gateway's memory at a few moments, MiB: resident set beside V8's heap
 * (used and committed) and memory outside it; malloc is glibc's heaps (main
 * and per-thread arenas), the usual home of what RSS holds beyond the heap.
 */
export function memoryTable(rows: readonly MemoryRow[]): string {
  const header = ['gateway memory', 'RSS MiB', 'heap used MiB', 'heap total MiB', 'external MiB', 'malloc MiB'];
  const lines = rows.map(({ when, reading }) => {
    const resident = reading?.resident;
    const inside = reading?.inside;
    return [
      when,
      kibAsMib(resident?.rss),
      mib(inside?.heapUsed),
      mib(inside?.heapTotal),
      mib(inside?.external),
      kibAsMib(resident ? resident.mainArena + resident.threadArenas : undefined),
    ];
  });
  return table(header, lines);
}

/** A Markdown table: text left, numbers right, as alignment and as padding. */
function table(header: readonly string[], lines: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => line[column]?.length ?? 0)),
  );
  const format = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (column === 0 ? '-'.repeat(width) : `${'-'.repeat(Math.max(1, width - 1))}:`)).join(' | ')} |`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/** One read's figures at each queue size (reads.ts). */
export interface ReadFigures {
  readonly name: string;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly answer: number | null;
}

/**
 * Reads at scale: per read, the median and p99 with a small queue and a
 * large one, and how much the median grew; the answers (a position, a
 * count) show that both sizes were read.
 */
export function readsTable(
  small: { readonly label: string; readonly reads: readonly ReadFigures[] },
  large: { readonly label: string; readonly reads: readonly ReadFigures[] },
): string {
  const header = [
    'read (sequential requests)',
    `${small.label} p50 ms`,
    `${small.label} p99 ms`,
    `${large.label} p50 ms`,
    `${large.label} p99 ms`,
    `p50 ${large.label} ÷ ${small.label}`,
    `answers ${small.label} / ${large.label}`,
    'samples',
  ];
  const lines = small.reads.map((read) => {
    const other = large.reads.find((each) => each.name === read.name);
    const answer = (value: number | null | undefined) => (value === null || value === undefined ? '-' : String(value));
    return [
      read.name,
      ms(read.p50Ms),
      ms(read.p99Ms),
      other ? ms(other.p50Ms) : 'n/a',
      other ? ms(other.p99Ms) : 'n/a',
      other ? `${(other.p50Ms / read.p50Ms).toFixed(2)}×` : 'n/a',
      `${answer(read.answer)} / ${answer(other?.answer)}`,
      `${read.samples} / ${other?.samples ?? 0}`,
    ];
  });
  return table(header, lines);
}
