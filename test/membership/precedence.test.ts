import { describe, expect, it } from 'vitest';
import { MemberStatus as S } from '../../src/codec/index.js';
import { supersedes } from '../../src/membership/precedence.js';

describe('supersedes', () => {
  it('only alive and left introduce an unknown member', () => {
    expect(supersedes(undefined, 0, S.ALIVE)).toBe(true);
    expect(supersedes(undefined, 0, S.LEFT)).toBe(true);
    expect(supersedes(undefined, 5, S.SUSPECT)).toBe(false);
    expect(supersedes(undefined, 5, S.DEAD)).toBe(false);
  });

  it('alive needs a strictly higher incarnation (only the member raises it)', () => {
    for (const cur of [S.ALIVE, S.SUSPECT, S.DEAD, S.LEFT]) {
      expect(supersedes({ incarnation: 3, status: cur }, 3, S.ALIVE)).toBe(false);
      expect(supersedes({ incarnation: 3, status: cur }, 2, S.ALIVE)).toBe(false);
      expect(supersedes({ incarnation: 3, status: cur }, 4, S.ALIVE)).toBe(true);
    }
  });

  it('at equal incarnation: left > dead > suspect > alive', () => {
    const order = [S.ALIVE, S.SUSPECT, S.DEAD, S.LEFT];
    for (let i = 0; i < order.length; i++) {
      for (let j = 1; j < order.length; j++) {
        expect(supersedes({ incarnation: 3, status: order[i]! }, 3, order[j]!)).toBe(j > i);
      }
    }
  });

  it('stale news never wins, and nothing but the member itself revives a left entry', () => {
    expect(supersedes({ incarnation: 3, status: S.ALIVE }, 2, S.SUSPECT)).toBe(false);
    expect(supersedes({ incarnation: 3, status: S.ALIVE }, 2, S.DEAD)).toBe(false);
    expect(supersedes({ incarnation: 3, status: S.ALIVE }, 2, S.LEFT)).toBe(false);
    expect(supersedes({ incarnation: 3, status: S.LEFT }, 9, S.SUSPECT)).toBe(false);
    expect(supersedes({ incarnation: 3, status: S.LEFT }, 9, S.DEAD)).toBe(false);
    expect(supersedes({ incarnation: 3, status: S.DEAD }, 4, S.SUSPECT)).toBe(true);
    expect(supersedes({ incarnation: 3, status: S.LEFT }, 4, S.LEFT)).toBe(true);
  });

  it('unknown status values are refused', () => {
    expect(supersedes({ incarnation: 0, status: S.ALIVE }, 1, 9 as S)).toBe(false);
  });
});
