// Memory of the gateway under test: what /proc says of it (resident set and
// where it lies) and what it says of itself (V8's heap, external memory) over
// the IPC channel of memory-report.ts. Linux only.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { InsideFigures, MemoryRequest } from './memory-report.js';

const MIB = 1024 * 1024;

/** Resident memory by where it lies, in KiB (from /proc/<pid>/status and smaps). */
export interface ResidentFigures {
  /** VmRSS: all of it. */
  readonly rss: number;
  /** VmHWM: the most it has been. */
  readonly peak: number;
  /** RssAnon: anonymous (heaps, stacks, WebAssembly memories). */
  readonly anon: number;
  /** RssFile + RssShmem: mapped files (node's binary, libraries). */
  readonly file: number;
  /**
   * Anonymous reservations of 1 GiB or more: WebAssembly memories (V8
   * reserves 8-10 GiB of address space per memory, guard regions included);
   * Prisma's query compilers and node's HTTP parser (llhttp). Resident part only.
   */
  readonly wasm: number;
  /** The brk heap: glibc malloc's main arena. */
  readonly mainArena: number;
  /** 64 MiB-aligned anonymous reservations of 64 MiB: glibc malloc's per-thread arenas. */
  readonly threadArenas: number;
  /** How many such arenas. */
  readonly arenaCount: number;
  /** Every other anonymous mapping: V8's heap, large malloc blocks, stacks. */
  readonly otherAnon: number;
}

interface Mapping {
  start: number;
  end: number;
  perms: string;
  path: string;
  rss: number;
  anon: number;
}

function readMappings(pid: number): Mapping[] {
  const mappings: Mapping[] = [];
  let current: Mapping | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      current = {
        start: Number.parseInt(head[1] ?? '0', 16),
        end: Number.parseInt(head[2] ?? '0', 16),
        perms: head[3] ?? '',
        path: head[4] ?? '',
        rss: 0,
        anon: 0,
      };
      mappings.push(current);
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field && current) {
      if (field[1] === 'Rss') current.rss = Number(field[2]);
      else current.anon = Number(field[2]);
    }
  }
  return mappings;
}

const ARENA_BYTES = 64 * MIB;

/** Resident memory of a process by kind, or undefined when it is gone. */
export function residentFigures(pid: number): ResidentFigures | undefined {
  let status: string;
  let mappings: Mapping[];
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    mappings = readMappings(pid);
  } catch {
    return undefined;
  }
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  let wasm = 0;
  let mainArena = 0;
  let threadArenas = 0;
  let arenaCount = 0;
  let otherAnon = 0;
  for (let i = 0; i < mappings.length; i++) {
    const mapping = mappings[i];
    if (!mapping) continue;
    if (mapping.path === '[heap]') {
      mainArena += mapping.rss;
      continue;
    }
    // Files, the stack and the kernel's pages are counted by RssFile or not at all.
    if (mapping.path !== '' && !mapping.path.startsWith('[anon')) continue;
    const size = mapping.end - mapping.start;
    // A WebAssembly memory: its pages in use, read-write, then the rest of
    // its reservation, PROT_NONE, in one block of 1 GiB or more.
    const rest = mappings[i + 1];
    const reserved =
      rest !== undefined && rest.start === mapping.end && rest.path === '' && rest.perms.startsWith('---')
        ? rest.end - mapping.start
        : size;
    if (reserved >= 1024 * MIB) {
      wasm += mapping.rss;
      continue;
    }
    // A thread arena: a 64 MiB-aligned block, read-write at its start and
    // PROT_NONE for the rest of its 64 MiB (or all read-write).
    if (mapping.start % ARENA_BYTES === 0 && mapping.perms.startsWith('rw') && reserved === ARENA_BYTES) {
      threadArenas += mapping.rss;
      arenaCount += 1;
      continue;
    }
    otherAnon += mapping.anon;
  }
  return {
    rss: kib('VmRSS'),
    peak: kib('VmHWM'),
    anon: kib('RssAnon'),
    file: kib('RssFile') + kib('RssShmem'),
    wasm,
    mainArena,
    threadArenas,
    arenaCount,
    otherAnon,
  };
}

let nextRequest = 0;

const isFigures = (message: unknown): message is InsideFigures =>
  typeof message === 'object' &&
  message !== null &&
  (message as { type?: unknown }).type === 'memory' &&
  typeof (message as { id?: unknown }).id === 'number';

/** The process's own figures over its IPC channel (memory-report.ts), or undefined if it does not answer. */
export function insideFigures(
  child: ChildProcess,
  collect = false,
  timeoutMs = 5_000,
): Promise<InsideFigures | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  const id = ++nextRequest;
  return new Promise((resolveFigures) => {
    const done = (figures: InsideFigures | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      resolveFigures(figures);
    };
    const onMessage = (message: unknown) => {
      if (isFigures(message) && message.id === id) done(message);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    child.on('message', onMessage);
    const request: MemoryRequest = { type: 'memory', id, collect };
    child.send(request, (error) => {
      if (error) done(undefined);
    });
  });
}

/** One reading of both. */
export interface MemoryReading {
  readonly resident: ResidentFigures | undefined;
  readonly inside: InsideFigures | undefined;
}

export async function readMemory(child: ChildProcess, collect = false): Promise<MemoryReading> {
  const inside = await insideFigures(child, collect);
  return { resident: child.pid === undefined ? undefined : residentFigures(child.pid), inside };
}

export const mib = (bytes: number | undefined): string => (bytes === undefined ? 'n/a' : (bytes / MIB).toFixed(0));
export const kibAsMib = (kib: number | undefined): string => (kib === undefined ? 'n/a' : (kib / 1024).toFixed(0));

/**
 * Samples a gateway's memory every `everyMs` while the rows run and keeps the
 * reading with the largest RSS (the peak's heap figures beside it).
 */
export class PeakWatch {
  private peak: MemoryReading | undefined;
  private readonly timer: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  constructor(read: () => Promise<MemoryReading>, everyMs = 1_000) {
    const sample = async () => {
      const reading = await read();
      if ((reading.resident?.rss ?? -1) > (this.peak?.resident?.rss ?? -1)) this.peak = reading;
    };
    this.timer = setInterval(() => {
      this.pending = this.pending.then(sample, sample);
    }, everyMs);
    this.timer.unref();
  }

  /** Stops sampling; the reading with the largest RSS, if any was taken. */
  async stop(): Promise<MemoryReading | undefined> {
    clearInterval(this.timer);
    await this.pending.catch(() => undefined);
    return this.peak;
  }
}
