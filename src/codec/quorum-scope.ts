// The QuorumScope field of client requests, between its wire code and its name.
import { BadRequestError } from '../errors.js';
import { QuorumScopeCode } from './messages.js';

/** Which replicas a request's R or W counts: any, or those in the coordinator's data centre. */
export type QuorumScope = 'global' | 'local';

/** The wire code of a scope; undefined is the coordinator's default. BadRequestError for anything else. */
export function scopeCode(scope: QuorumScope | undefined): QuorumScopeCode {
  if (scope === undefined) return QuorumScopeCode.DEFAULT;
  if (scope === 'global') return QuorumScopeCode.GLOBAL;
  if (scope === 'local') return QuorumScopeCode.LOCAL;
  throw new BadRequestError(`scope must be local or global, got ${String(scope)}`);
}

/** The scope a request's code names; undefined for the default. BadRequestError for an unknown code. */
export function scopeOf(code: number | undefined): QuorumScope | undefined {
  switch (code) {
    case undefined:
    case QuorumScopeCode.DEFAULT:
      return undefined;
    case QuorumScopeCode.GLOBAL:
      return 'global';
    case QuorumScopeCode.LOCAL:
      return 'local';
    default:
      throw new BadRequestError(`unknown quorum scope ${code}`);
  }
}
