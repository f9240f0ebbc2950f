// Test support, driven by the loaded schema so that every message and field of
// proto/shoal.proto is covered, including ones added later: random messages
// (fast-check arbitraries), a full plain view of a message for comparisons, and a
// check of the JavaScript types of a decoded message.
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { messageType, schema } from '../../src/codec/index.js';

/** Every message type in the schema, by name. */
export function allMessageNames(): string[] {
  const ns = schema.lookup('shoal') as protobuf.Namespace;
  return Object.values(ns.nested ?? {})
    .filter((n): n is protobuf.Type => n instanceof protobuf.Type)
    .map((t) => t.name)
    .sort();
}

const U32_MAX = 0xffffffff;

function scalarArbitrary(f: protobuf.Field): fc.Arbitrary<unknown> {
  if (f.resolvedType instanceof protobuf.Enum) return fc.constantFrom(...Object.values(f.resolvedType.values));
  switch (f.type) {
    case 'uint32':
      return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: U32_MAX }));
    case 'uint64':
      // Shoal keeps uint64 values below 2^53 (the .proto): they decode exactly.
      return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'binary', maxLength: 24 });
    case 'bytes':
      return fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u));
    default:
      throw new Error(`schema-arbitrary: add a case for field type ${f.type}`);
  }
}

function fieldArbitrary(f: protobuf.Field): fc.Arbitrary<unknown> {
  f.resolve();
  const one = f.resolvedType instanceof protobuf.Type ? messageArbitrary(f.resolvedType) : scalarArbitrary(f);
  return f.repeated ? fc.array(one, { maxLength: 4 }) : one;
}

const cache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** Random messages of `type` as plain objects, with every oneof holding one or no member. */
export function messageArbitrary(type: protobuf.Type | string): fc.Arbitrary<Record<string, unknown>> {
  const t = typeof type === 'string' ? messageType(type) : type;
  const hit = cache.get(t.fullName);
  if (hit !== undefined) return hit;
  const plain: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of t.fieldsArray) if (f.partOf === null) plain[f.name] = fieldArbitrary(f);
  const oneofs = t.oneofsArray.map((o) =>
    fc.option(fc.oneof(...o.fieldsArray.map((f) => fieldArbitrary(f).map((v) => [f.name, v] as const))), { nil: undefined }),
  );
  const arb = fc
    .tuple(fc.record(plain, { requiredKeys: [] }), fc.tuple(...oneofs))
    .map(([fields, members]) => {
      const msg: Record<string, unknown> = { ...fields };
      for (const m of members) if (m !== undefined) msg[m[0]] = m[1];
      return msg;
    });
  cache.set(t.fullName, arb);
  return arb;
}

function scalarDefault(f: protobuf.Field): unknown {
  if (f.resolvedType instanceof protobuf.Enum) return 0;
  switch (f.type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    default:
      return 0;
  }
}

function plainValue(f: protobuf.Field, v: unknown): unknown {
  if (f.resolvedType instanceof protobuf.Type) return v === undefined || v === null ? null : fullView(f.resolvedType, v);
  if (v === undefined || v === null) v = scalarDefault(f);
  return f.type === 'bytes' ? Buffer.from(v as Uint8Array).toString('hex') : v;
}

/**
 * Every field of `msg` as plain data (defaults filled in, bytes as hex, absent
 * messages as null, each oneof as `$name: member | null`), read through prototypes,
 * so that an original and its decoded copy compare with toEqual.
 */
export function fullView(type: protobuf.Type | string, msg: unknown): Record<string, unknown> {
  const t = typeof type === 'string' ? messageType(type) : type;
  const m = msg as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of t.fieldsArray) {
    f.resolve();
    const v = m[f.name];
    out[f.name] = f.repeated ? ((v as unknown[] | undefined) ?? []).map((x) => plainValue(f, x)) : plainValue(f, v);
  }
  for (const o of t.oneofsArray) {
    const set = o.fieldsArray.filter((f) => m[f.name] !== undefined && m[f.name] !== null);
    out['$' + o.name] = set.length === 0 ? null : set[set.length - 1]!.name;
  }
  return out;
}

/**
 * Problems with the JavaScript types of a decoded message: numbers for integers and
 * enums, Buffers for bytes, strings, booleans, arrays for repeated fields, and
 * `body`-style oneof names. Empty when all is well.
 */
export function typeProblems(type: protobuf.Type | string, msg: unknown, path = ''): string[] {
  const t = typeof type === 'string' ? messageType(type) : type;
  const m = msg as Record<string, unknown>;
  const problems: string[] = [];
  const check = (f: protobuf.Field, v: unknown, where: string): void => {
    if (f.resolvedType instanceof protobuf.Type) {
      problems.push(...typeProblems(f.resolvedType, v, where + '.'));
      return;
    }
    const want =
      f.resolvedType instanceof protobuf.Enum || f.type === 'uint32' || f.type === 'uint64'
        ? 'number'
        : f.type === 'bytes'
          ? 'Buffer'
          : f.type === 'bool'
            ? 'boolean'
            : 'string';
    const ok =
      want === 'Buffer' ? Buffer.isBuffer(v) : want === 'number' ? typeof v === 'number' && Number.isInteger(v) && v >= 0 : typeof v === want;
    if (!ok) problems.push(`${where}: expected ${want}, got ${Object.prototype.toString.call(v)}`);
  };
  for (const f of t.fieldsArray) {
    f.resolve();
    const v = m[f.name];
    const where = path + f.name;
    if (f.repeated) {
      if (!Array.isArray(v)) problems.push(`${where}: expected an array`);
      else v.forEach((x, i) => check(f, x, `${where}[${i}]`));
    } else if (f.resolvedType instanceof protobuf.Type) {
      if (v !== undefined && v !== null) check(f, v, where);
    } else {
      check(f, v, where);
    }
  }
  for (const o of t.oneofsArray) {
    const name = m[o.name];
    if (name !== undefined && !o.oneof.includes(name as string)) problems.push(`${path}${o.name}: not a member: ${String(name)}`);
  }
  return problems;
}
