import { describe, expect, it } from 'vitest';
import { EnvelopeCodec, errorFromWire, errorToWire, MAX_ERROR_MESSAGE, WireErrorCode } from '../../src/codec/index.js';
import {
  BadContextError,
  BadRequestError,
  ClosedError,
  ErrorCodes,
  InternalError,
  OverloadedError,
  QuorumUnavailableError,
  ShoalError,
  StaleRingError,
  TimeoutError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  UnknownMessageError,
} from '../../src/errors.js';

// The table of docs/protocol.md, "Error codes".
const TABLE = [
  [WireErrorCode.QUORUM_UNAVAILABLE, QuorumUnavailableError, ErrorCodes.QUORUM_UNAVAILABLE],
  [WireErrorCode.TIMEOUT, TimeoutError, ErrorCodes.TIMEOUT],
  [WireErrorCode.TOO_LARGE, TooLargeError, ErrorCodes.TOO_LARGE],
  [WireErrorCode.BAD_CONTEXT, BadContextError, ErrorCodes.BAD_CONTEXT],
  [WireErrorCode.UNAUTHORIZED, UnauthorizedError, ErrorCodes.UNAUTHORIZED],
  [WireErrorCode.BAD_REQUEST, BadRequestError, ErrorCodes.BAD_REQUEST],
  [WireErrorCode.UNKNOWN_MESSAGE, UnknownMessageError, ErrorCodes.UNKNOWN_MESSAGE],
  [WireErrorCode.OVERLOADED, OverloadedError, ErrorCodes.OVERLOADED],
  [WireErrorCode.INTERNAL, InternalError, ErrorCodes.INTERNAL],
  [WireErrorCode.UNAVAILABLE, UnavailableError, ErrorCodes.UNAVAILABLE],
  [WireErrorCode.STALE_RING, StaleRingError, ErrorCodes.STALE_RING],
] as const;

describe('error mapping', () => {
  it('covers every wire code except ERROR_UNSPECIFIED', () => {
    const mapped = new Set<number>(TABLE.map((r) => r[0]));
    for (const code of Object.values(WireErrorCode)) {
      expect(mapped.has(code)).toBe(code !== WireErrorCode.ERROR_UNSPECIFIED);
    }
  });

  it.each(TABLE)('wire %i <-> %o, both ways and through an encoded Envelope', (wire, Class, code) => {
    const err = new Class('replicas 2 of 3 did not answer');
    expect(errorToWire(err)).toEqual({ code: wire, message: 'replicas 2 of 3 did not answer' });
    const env = EnvelopeCodec.decode(EnvelopeCodec.encode({ id: 9, error: errorToWire(err) }));
    const back = errorFromWire(env.error!);
    expect(back).toBeInstanceOf(Class);
    expect(back).toBeInstanceOf(ShoalError);
    expect(back.code).toBe(code);
    expect(back.name).toBe(Class.name);
    expect(back.message).toBe('replicas 2 of 3 did not answer');
  });

  it('sends ClosedError as UNAVAILABLE', () => {
    const w = errorToWire(new ClosedError('store closed'));
    expect(w).toEqual({ code: WireErrorCode.UNAVAILABLE, message: 'store closed' });
    expect(errorFromWire(w)).toBeInstanceOf(UnavailableError);
  });

  it('sends anything that is not a ShoalError as INTERNAL without its message', () => {
    const secret = new Error('ENOENT: /var/lib/shoal/secret-path');
    for (const thrown of [secret, new TypeError('x is undefined'), 'a string', 42, null, undefined, { code: 'SHOAL_TIMEOUT' }]) {
      const w = errorToWire(thrown);
      expect(w).toEqual({ code: WireErrorCode.INTERNAL, message: 'internal error' });
    }
    // a ShoalError with a code outside the table (only possible by casting) is INTERNAL too
    const odd = new ShoalError('SHOAL_NOPE' as never, 'odd');
    expect(errorToWire(odd).code).toBe(WireErrorCode.INTERNAL);
  });

  it('reads ERROR_UNSPECIFIED and codes newer than this version as InternalError naming the code', () => {
    const e0 = errorFromWire({ code: WireErrorCode.ERROR_UNSPECIFIED, message: '' });
    expect(e0).toBeInstanceOf(InternalError);
    expect(e0.message).toBe('error code 0 from the peer');
    // a newer peer's code 42 survives the wire as the number (open enum)
    const bytes = Buffer.from([0x12, 0x05, 0x08, 42, 0x12, 0x01, 0x6d]); // Envelope.error {code 42, message "m"}
    const env = EnvelopeCodec.decode(bytes);
    expect(env.error!.code).toBe(42);
    const e42 = errorFromWire(env.error!);
    expect(e42).toBeInstanceOf(InternalError);
    expect(e42.message).toBe('error code 42 from the peer: m');
    // prototype names are not codes
    expect(errorFromWire({ code: 'constructor' as never, message: '' })).toBeInstanceOf(InternalError);
  });

  it('cuts long messages both ways', () => {
    const long = 'x'.repeat(5 * MAX_ERROR_MESSAGE);
    const w = errorToWire(new BadRequestError(long));
    expect(w.message.length).toBe(MAX_ERROR_MESSAGE);
    expect(w.message.endsWith('…')).toBe(true);
    expect(errorFromWire({ code: WireErrorCode.TIMEOUT, message: long }).message.length).toBe(MAX_ERROR_MESSAGE);
    expect(errorFromWire({ code: WireErrorCode.TIMEOUT, message: 'x'.repeat(MAX_ERROR_MESSAGE) }).message.length).toBe(MAX_ERROR_MESSAGE);
  });
});
