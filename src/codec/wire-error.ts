// ShoalError <-> the `Error` message of an error reply. The wire carries the stable
// code and a message; the far side rebuilds the class from the code.
import {
  BadContextError,
  BadRequestError,
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
} from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { WireErrorCode } from './messages.js';
import type { WireError } from './messages.js';

/** Longest error message sent or accepted; longer ones are cut, so errors stay small. */
export const MAX_ERROR_MESSAGE = 1024;

const toWire: Record<ErrorCode, WireErrorCode> = {
  [ErrorCodes.QUORUM_UNAVAILABLE]: WireErrorCode.QUORUM_UNAVAILABLE,
  [ErrorCodes.TIMEOUT]: WireErrorCode.TIMEOUT,
  [ErrorCodes.TOO_LARGE]: WireErrorCode.TOO_LARGE,
  [ErrorCodes.BAD_CONTEXT]: WireErrorCode.BAD_CONTEXT,
  [ErrorCodes.UNAUTHORIZED]: WireErrorCode.UNAUTHORIZED,
  [ErrorCodes.BAD_REQUEST]: WireErrorCode.BAD_REQUEST,
  [ErrorCodes.UNKNOWN_MESSAGE]: WireErrorCode.UNKNOWN_MESSAGE,
  [ErrorCodes.OVERLOADED]: WireErrorCode.OVERLOADED,
  [ErrorCodes.INTERNAL]: WireErrorCode.INTERNAL,
  [ErrorCodes.UNAVAILABLE]: WireErrorCode.UNAVAILABLE,
  // A store or connection closed on the far side is, to the caller, an unavailable node.
  [ErrorCodes.CLOSED]: WireErrorCode.UNAVAILABLE,
  [ErrorCodes.STALE_RING]: WireErrorCode.STALE_RING,
};

const fromWire: Record<number, (message: string) => ShoalError> = {
  [WireErrorCode.QUORUM_UNAVAILABLE]: (m) => new QuorumUnavailableError(m),
  [WireErrorCode.TIMEOUT]: (m) => new TimeoutError(m),
  [WireErrorCode.TOO_LARGE]: (m) => new TooLargeError(m),
  [WireErrorCode.BAD_CONTEXT]: (m) => new BadContextError(m),
  [WireErrorCode.UNAUTHORIZED]: (m) => new UnauthorizedError(m),
  [WireErrorCode.BAD_REQUEST]: (m) => new BadRequestError(m),
  [WireErrorCode.UNKNOWN_MESSAGE]: (m) => new UnknownMessageError(m),
  [WireErrorCode.OVERLOADED]: (m) => new OverloadedError(m),
  [WireErrorCode.INTERNAL]: (m) => new InternalError(m),
  [WireErrorCode.UNAVAILABLE]: (m) => new UnavailableError(m),
  [WireErrorCode.STALE_RING]: (m) => new StaleRingError(m),
};

function cut(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE ? message : message.slice(0, MAX_ERROR_MESSAGE - 1) + '…';
}

/**
 * The wire form of an error a request handler threw. A ShoalError keeps its code
 * (ClosedError travels as UNAVAILABLE) and its message; anything else becomes INTERNAL
 * with the generic message "internal error", so that internals (paths, stack traces,
 * library messages) never reach the caller — log the original where it is caught.
 */
export function errorToWire(err: unknown): WireError {
  if (err instanceof ShoalError) {
    const code = toWire[err.code] as WireErrorCode | undefined;
    if (code !== undefined) return { code, message: cut(err.message) };
  }
  return { code: WireErrorCode.INTERNAL, message: 'internal error' };
}

/**
 * The ShoalError an error reply stands for. ERROR_UNSPECIFIED and codes newer than
 * this version become InternalError naming the code; the message is the peer's,
 * cut to MAX_ERROR_MESSAGE characters.
 */
export function errorFromWire(e: WireError): ShoalError {
  const message = cut(typeof e.message === 'string' ? e.message : '');
  const make = Object.hasOwn(fromWire, e.code) ? fromWire[e.code] : undefined;
  if (make !== undefined) return make(message);
  return new InternalError(`error code ${String(e.code)} from the peer` + (message === '' ? '' : `: ${message}`));
}
