// Version vectors and dots. Encodings: docs/architecture.md ("Actors, dots and
// counters", "Version vector encoding"); TypeScript specification:
// src/reference/clock.ts.
//
// An encoded vector is: u8 format = 1, varint n (0..1024), then n entries of
// (u64 LE actor, strictly ascending; varint counter, 1..2^53-1). Varints are
// minimal LEB128 of at most 8 bytes. A zero-length input is the empty vector.
// Every function below validates all of its inputs, whatever the answer: a
// malformed vector or dot is a RangeError, a wrong argument type a TypeError.
// Results are always canonical (the empty vector is 01 00) and never exceed
// 1024 entries: a result that would is a RangeError. Small results are views
// into a shared ArrayBuffer, as Buffer.allocUnsafe() results are: use
// byteOffset/byteLength, never the whole .buffer.
//
// JavaScript functions registered by InitClock (types in src/native.ts):
//
//   vvCompare(a, b) -> -1 | 0 | 1 | 2
//     Before (a < b pointwise), Equal, After (a > b), or Concurrent.
//   vvMerge(a, b) -> Buffer
//     Pointwise maximum; an actor absent from one side counts as 0.
//   vvEvent(vv, actor: bigint, counter) -> Buffer
//     vv with vv[actor] = max(vv[actor], counter); counter in 1..2^53-1.
//   vvGet(vv, actor: bigint) -> number
//     vv[actor], or 0 when absent. It is not an error if actor is absent.
//   vvPrune(vv, maxEntries) -> Buffer
//     Keeps the maxEntries (>= 1) entries with the largest counters; of equal
//     counters the smaller actor is dropped first. Unchanged when it fits.
//   vvValidate(vv) -> number
//     The number of entries.
//   dotsCoveredBy(vv, dots) -> Uint8Array
//     dots: 16 bytes each (u64 LE actor, u64 LE counter in 1..2^53-1), in any
//     order. out[i] = 1 when vv[actor_i] >= counter_i, else 0.
//   dotSync(clockA, dotsA, clockB, dotsB) -> Uint8Array
//     Flags for dotsA then dotsB: a dot of A survives when dotsB holds it too
//     or clockB does not cover it; a dot of B survives when dotsA does not hold
//     it and clockA does not cover it.
#ifndef SHOAL_NATIVE_VCLOCK_H_
#define SHOAL_NATIVE_VCLOCK_H_

#include <napi.h>

namespace shoal {

// Registers the functions listed above on exports.
void InitClock(Napi::Env env, Napi::Object exports);

}  // namespace shoal

#endif  // SHOAL_NATIVE_VCLOCK_H_
