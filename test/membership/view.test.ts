import { describe, expect, it } from 'vitest';
import { MemberStatus } from '../../src/codec/index.js';
import type { Member } from '../../src/codec/index.js';
import { MemberView, viewChecksum } from '../../src/membership/view.js';

const member = (id: string, incarnation = 0): Member => ({
  id,
  host: '127.0.0.1',
  port: 7000,
  dc: '',
  rack: '',
  capacity: 1,
  incarnation,
  status: MemberStatus.ALIVE,
  ringStatus: 0,
  httpPort: 0,
  protocol: 1,
  statusAt: 0,
});

describe('MemberView checksum', () => {
  it('does not depend on insertion order and ignores statusAt', () => {
    const a = new MemberView();
    const b = new MemberView();
    ['x', 'y', 'z'].forEach((id) => a.set(member(id)));
    ['z', 'x', 'y'].forEach((id) => b.set({ ...member(id), statusAt: 12345 }));
    expect(a.checksum()).toEqual(b.checksum());
    expect(a.checksum()).toEqual(viewChecksum([member('y'), member('z'), member('x')]));
  });

  it('changes with any field that matters and comes back when the change is undone', () => {
    const v = new MemberView();
    ['x', 'y'].forEach((id) => v.set(member(id)));
    const before = Buffer.from(v.checksum());
    for (const change of [{ incarnation: 1 }, { status: MemberStatus.SUSPECT }, { port: 7001 }, { dc: 'b' }, { ringStatus: 1 }, { capacity: 3 }]) {
      const m = v.get('x')!;
      const saved = { ...m };
      Object.assign(m, change);
      v.changed('x');
      expect(v.checksum()).not.toEqual(before);
      Object.assign(m, saved);
      v.changed('x');
      expect(v.checksum()).toEqual(before);
    }
  });

  it('stays equal to a full recomputation through many random changes', () => {
    const v = new MemberView();
    for (let i = 0; i < 500; i++) {
      const id = `m${i % 37}`;
      if (i % 11 === 0) v.delete(id);
      else v.set(member(id, i));
      expect(v.checksum()).toEqual(viewChecksum(v.values()));
    }
  });

  it('counts members that have not left', () => {
    const v = new MemberView();
    ['a', 'b', 'c'].forEach((id) => v.set(member(id)));
    v.get('b')!.status = MemberStatus.LEFT;
    v.changed('b');
    expect(v.activeCount).toBe(2);
    v.delete('b');
    expect(v.activeCount).toBe(2);
    v.delete('a');
    expect(v.activeCount).toBe(1);
  });
});
