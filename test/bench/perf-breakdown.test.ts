// The grouping of perf samples that SHOAL_BENCH_PERF prints (docs/performance.md, round 7).
import { describe, expect, it } from 'vitest';
import { breakdown, kindOf } from '../../bench/perf-breakdown.js';

const line = (pct: string, comm: string, dso: string, sym: string) => ` ${pct}%  \t${comm}  \t${dso}   \t${sym}   `;

describe('perf breakdown', () => {
  it('names the kind of work of a sample from its library and symbol', () => {
    expect(kindOf('[kernel.kallsyms]', 'tcp_sendmsg_locked')).toBe('kernel');
    expect(kindOf('[JIT] tid 7114', 'JS:*put file:///x/store.js:1:1')).toBe('JavaScript compiled by V8');
    expect(kindOf('[unknown]', '0x00007f3a')).toBe('JavaScript (unnamed)');
    expect(kindOf('classic-level.node', 'leveldb::SkipList<char const*, leveldb::MemTable::KeyComparator>::Insert')).toBe('LevelDB memtable inserts');
    expect(kindOf('classic-level.node', 'leveldb::log::Writer::AddRecord')).toBe('LevelDB, other');
    expect(kindOf('shoal.node', 'shoal::MerkleHashes::Update')).toBe('our addon');
    expect(kindOf('libc.so.6', '__memmove_avx_unaligned_erms')).toBe('libc (malloc, memcpy)');
    expect(kindOf('node', 'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>')).toBe('V8 garbage collection');
    expect(kindOf('node', 'v8::internal::compiler::GraphReducer::ReduceTop')).toBe('V8 compiling JavaScript');
    expect(kindOf('node', 'Builtins_FulfillPromise')).toBe('V8 promises and async functions');
    expect(kindOf('node', 'Builtins_FindOrderedHashMapEntry')).toBe('V8 Map and Set');
    expect(kindOf('node', 'Builtins_CreateTypedArray')).toBe('V8 typed arrays and Buffers');
    expect(kindOf('node', 'Builtins_LoadIC')).toBe('V8 property access (inline caches)');
    expect(kindOf('node', 'Builtins_KeyedLoadIC_Megamorphic')).toBe('V8 property access (inline caches)');
    expect(kindOf('node', 'napi_get_typedarray_info')).toBe('Node-API');
    expect(kindOf('node', 'uv__io_poll')).toBe('libuv and Node internals');
    expect(kindOf('node', 'Builtins_CallFunction_ReceiverIsAny')).toBe('V8 calls');
    expect(kindOf('node', 'Builtins_StringAdd_CheckNone')).toBe('V8 builtins and runtime, other');
  });

  it('adds up each kind as a share of the busy samples: idle and perf itself left out', () => {
    const report = [
      '# comment line',
      line('30.00', 'node', '[kernel.kallsyms]', '[k] tcp_sendmsg_locked'),
      line('10.00', 'node', '[kernel.kallsyms]', '[k] do_syscall_64'),
      line('20.00', 'swapper', '[kernel.kallsyms]', '[k] pv_native_safe_halt'),
      line('5.00', 'perf', '[kernel.kallsyms]', '[k] perf_poll'),
      line('25.00', 'node', 'classic-level.node', '[.] leveldb::MemTable::Add'),
      line('15.00', 'node', '[JIT] tid 12', '[.] JS:*write file:///a.js:1:1'),
      '',
    ].join('\n');
    expect(breakdown(report)).toEqual([
      { kind: 'kernel', percent: 50 },
      { kind: 'LevelDB memtable inserts', percent: 31.25 },
      { kind: 'JavaScript compiled by V8', percent: 18.75 },
    ]);
    expect(breakdown('')).toEqual([]);
  });
});
