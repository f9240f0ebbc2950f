// What the CPU did during a benchmark phase, from `perf record -a` (every core,
// thread and the kernel), grouped into the kinds of work docs/performance.md
// (round 7) reasons about. V8's own profiles charge time to the JavaScript frame a
// thread resumed in after being descheduled; perf samples only what runs.
// Needs perf (Debian: linux-perf) and the right to sample every CPU (root, or
// kernel.perf_event_paranoid <= 0). Node processes started with --perf-basic-prof
// name their compiled JavaScript; without it, it counts as "JavaScript (unnamed)".
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export interface Share {
  kind: string;
  /** Percent of all samples. */
  percent: number;
}

/** Whether `perf` can be run here. */
export function perfAvailable(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts sampling every CPU into `file`; stop it with stopPerf(). */
export function startPerf(file: string): ChildProcess {
  return spawn('perf', ['record', '-a', '-q', '-o', file], { stdio: 'ignore' });
}

/** Stops a recording (SIGINT, as Ctrl-C) and resolves once perf has written its file. */
export function stopPerf(perf: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (perf.exitCode !== null || perf.signalCode !== null) return resolve();
    perf.once('exit', () => resolve());
    perf.kill('SIGINT');
  });
}

/** `perf report` of a recording, one tab-separated line per (command, library, symbol). */
export function perfReport(file: string): string {
  return execFileSync('perf', ['report', '-i', file, '--no-children', '--sort', 'comm,dso,symbol', '--stdio', '-t', '\t'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

// Symbols of the node binary, first match wins.
const V8_KINDS: Array<[RegExp, string]> = [
  [/Scaveng|MarkCompact|Sweep|Heap::|Evacuat|ConcurrentMarking|IncrementalMarking|MarkingVisitor|MemoryChunk|PagedSpace|ArrayBufferSweeper|Pretenuring|GlobalHandles|BodyDescriptor|SizeFromMap|OnMoveEvent|RecordWrite/, 'V8 garbage collection'],
  [/compiler::|Compiler|Maglev|Baseline|baseline::|Parser|Scanner|Bytecode|CompileLazy/, 'V8 compiling JavaScript'],
  [/Promise|Microtask|AsyncFunction|Generator|Await/, 'V8 promises and async functions'],
  [/^Builtins_Call|^Builtins_JSConstruct|Execution::|\bInvoke\b/, 'V8 calls'],
  [/OrderedHash|MapPrototype|SetPrototype|ComputeAndSetRawHash|StringTable/, 'V8 Map and Set'],
  [/TypedArray|ArrayBuffer|Buffer/, 'V8 typed arrays and Buffers'],
  [/IC(Trampoline)?\b|IC_|Megamorphic|LookupIterator|GetProperty|SetProperty|FastPropertyAt/, 'V8 property access (inline caches)'],
  [/^napi_|v8impl|Napi::/, 'Node-API'],
  [/^uv_|^uv__|node::/, 'libuv and Node internals'],
];

/** The kind of work one sample of `symbol` in library `dso` was. */
export function kindOf(dso: string, symbol: string): string {
  if (dso.startsWith('[kernel')) return 'kernel';
  if (dso.startsWith('[JIT]') || dso.startsWith('perf-') || symbol.startsWith('JS:')) return 'JavaScript compiled by V8';
  if (dso === '[unknown]') return 'JavaScript (unnamed)';
  if (dso === 'classic-level.node') return /SkipList|MemTable|KeyComparator/.test(symbol) ? 'LevelDB memtable inserts' : 'LevelDB, other';
  if (dso === 'shoal.node') return 'our addon';
  if (dso.startsWith('libc.') || dso.startsWith('libc-') || dso.startsWith('libstdc++')) return 'libc (malloc, memcpy)';
  if (dso === 'node') {
    for (const [re, kind] of V8_KINDS) if (re.test(symbol)) return kind;
    return 'V8 builtins and runtime, other';
  }
  return 'other';
}

/** Commands whose samples are not work: the idle loop, and perf itself. */
const NOT_WORK = new Set(['swapper', 'perf']);

/**
 * Percent of the busy samples per kind, largest first, from perfReport()'s text
 * (idle CPUs and perf's own samples left out).
 */
export function breakdown(report: string): Share[] {
  const kinds = new Map<string, number>();
  let busy = 0;
  for (const line of report.split('\n')) {
    const f = line.split('\t').map((x) => x.trim());
    if (f.length < 4 || !f[0]!.endsWith('%') || NOT_WORK.has(f[1]!)) continue;
    const percent = Number(f[0]!.slice(0, -1));
    const symbol = f[3]!.replace(/^\[[.k]\]\s*/, '');
    const kind = kindOf(f[2]!, symbol);
    kinds.set(kind, (kinds.get(kind) ?? 0) + percent);
    busy += percent;
  }
  if (busy === 0) return [];
  return [...kinds].map(([kind, p]) => ({ kind, percent: (100 * p) / busy })).sort((a, b) => b.percent - a.percent);
}

/** Prints a breakdown with the µs per operation each kind stands for. */
export function printBreakdown(shares: Share[], cpuMicrosPerOp: number): void {
  console.log('      where the CPU went (perf, all processes):');
  for (const s of shares) {
    if (s.percent < 0.5) continue;
    const us = (s.percent / 100) * cpuMicrosPerOp;
    console.log(`        ${s.percent.toFixed(1).padStart(5)}%  ${us.toFixed(0).padStart(4)} µs/op  ${s.kind}`);
  }
}
