// Staged ring changes (src/ring/transition.ts): requests keep using the current
// owners until the change completes; the change records the target, who gains
// replicas, and who is ready; every step is deterministic.
import { describe, expect, it } from 'vitest';
import { changeId } from '../../src/antientropy/index.js';
import {
  PreferenceLists,
  changeIsReady,
  completeChange,
  createRing,
  currentOf,
  decodeRing,
  encodeRing,
  fromRingState,
  gainedReplicas,
  joinRing,
  leaveRing,
  markReady,
  roleIn,
  stageJoin,
  stageLeave,
  targetOf,
  toRingState,
  type Ring,
} from '../../src/ring/index.js';

const Q = 64;

function stable(ids: string[]): Ring {
  let r = createRing(Q, ids[0]!);
  for (const id of ids.slice(1)) r = joinRing(r, id);
  return r;
}

describe('staged ring changes', () => {
  it('a join adds a claimed-but-not-active node; owners change only when the change completes', () => {
    const base = stable(['a', 'b', 'c']);
    const r = stageJoin(base, 'd');
    expect(r.version).toBe(base.version + 1);
    expect(r.nodes).toEqual(['a', 'b', 'c', 'd']);
    expect(r.owners).toEqual(base.owners);
    expect(r.next!.owners).toEqual(joinRing(base, 'd').owners);
    expect(r.next!.joining).toEqual(['d']);
    expect(roleIn(r, 'd')).toBe('joining');
    expect(roleIn(r, 'a')).toBe('active');
    expect(roleIn(r, 'zz')).toBe('none');
    expect(currentOf(r).nodes).toEqual(['a', 'b', 'c']);
    expect(stageJoin(r, 'd')).toBe(r);

    const gained = gainedReplicas(r, 3);
    const now = new PreferenceLists(base, 3);
    const then = new PreferenceLists(targetOf(r), 3);
    for (const [id, ps] of gained) for (const p of ps) expect(then.replicas(p).includes(id) && !now.replicas(p).includes(id)).toBe(true);
    expect(gained.has('d')).toBe(true);
    expect(changeIsReady(r, gained)).toBe(false);

    let ready = r;
    for (const id of gained.keys()) ready = markReady(ready, id);
    expect(changeIsReady(ready, gained)).toBe(true);
    expect(changeId(ready)).toBe(changeId(r)); // ready marks do not change what is moving
    const done = completeChange(ready);
    expect(done.next).toBeUndefined();
    expect(done.owners).toEqual(r.next!.owners);
    expect(done.nodes).toEqual(['a', 'b', 'c', 'd']);
    expect(roleIn(done, 'd')).toBe('active');
  });

  it('a leave keeps the node serving until the change completes, then it is gone', () => {
    const base = stable(['a', 'b', 'c', 'd']);
    const r = stageLeave(base, 'b');
    expect(r.owners).toEqual(base.owners);
    expect(r.next!.leaving).toEqual(['b']);
    expect(r.next!.owners).toEqual(leaveRing(base, 'b').owners);
    expect(r.next!.owners).not.toContain('b');
    expect(roleIn(r, 'b')).toBe('leaving');
    expect(gainedReplicas(r, 3).has('b')).toBe(false);
    const done = completeChange(r);
    expect(done.nodes).toEqual(['a', 'c', 'd']);
    expect(roleIn(done, 'b')).toBe('none');
    expect(() => stageLeave(createRing(Q, 'solo'), 'solo')).toThrow(RangeError);
  });

  it('changes compose while pending, and a join cancelled before it completes leaves the ring as it was', () => {
    const base = stable(['a', 'b', 'c']);
    const two = stageJoin(stageJoin(base, 'd'), 'e');
    expect(two.next!.joining).toEqual(['d', 'e']);
    expect(two.owners).toEqual(base.owners);
    const readyD = markReady(two, 'd');
    // A further change resets the ready marks: the target moved.
    const three = stageLeave(readyD, 'a');
    expect(three.next!.ready).toEqual([]);
    expect(three.next!.leaving).toEqual(['a']);
    expect(three.next!.owners).not.toContain('a');

    const cancelled = stageLeave(stageJoin(base, 'd'), 'd');
    expect(cancelled.next).toBeUndefined();
    expect(cancelled.nodes).toEqual(base.nodes);
    expect(cancelled.owners).toEqual(base.owners);
    // Staying after all: a join of a leaving node cancels its leave.
    const stay = stageJoin(stageLeave(base, 'b'), 'b');
    expect(stay.next).toBeUndefined();
    expect(stay.owners).toEqual(base.owners);
  });

  it('is the same on every node, and survives the wire', () => {
    const base = stable(['a', 'b', 'c']);
    const x = markReady(stageJoin(stageJoin(base, 'd'), 'e'), 'd');
    const y = markReady(stageJoin(stageJoin(base, 'd'), 'e'), 'd');
    expect(encodeRing(x)).toEqual(encodeRing(y));
    expect(decodeRing(encodeRing(x))).toEqual(x);
    expect(decodeRing(encodeRing(base))).toEqual(base);
  });

  it('rejects inconsistent pending changes from the network', () => {
    const r = stageLeave(stageJoin(stable(['a', 'b', 'c']), 'd'), 'a');
    const s = toRingState(r);
    const bad = [
      { ...s, nextOwners: s.nextOwners!.slice(1) },
      { ...s, joining: [9] },
      { ...s, joining: [3, 3] },
      { ...s, leaving: s.joining },
      { ...s, owners: s.owners.map(() => 3) }, // the joining node owning something already
      { ...s, nextOwners: s.nextOwners!.map(() => 0) }, // the leaving node owning something after
      { ...s, joining: [], leaving: [] },
      { ...s, nextOwners: [], ready: [1] },
    ];
    for (const b of bad) expect(() => fromRingState(b)).toThrow(RangeError);
    expect(fromRingState(s)).toEqual(r);
  });
});
