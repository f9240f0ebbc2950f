// One error class per failure, each with a stable code, shared by the server, the
// SDK and the HTTP API. Branch on `code`, never on the message.

export const ErrorCodes = {
  QUORUM_UNAVAILABLE: 'SHOAL_QUORUM_UNAVAILABLE',
  TIMEOUT: 'SHOAL_TIMEOUT',
  TOO_LARGE: 'SHOAL_TOO_LARGE',
  BAD_CONTEXT: 'SHOAL_BAD_CONTEXT',
  UNAUTHORIZED: 'SHOAL_UNAUTHORIZED',
  BAD_REQUEST: 'SHOAL_BAD_REQUEST',
  UNKNOWN_MESSAGE: 'SHOAL_UNKNOWN_MESSAGE',
  OVERLOADED: 'SHOAL_OVERLOADED',
  INTERNAL: 'SHOAL_INTERNAL',
  UNAVAILABLE: 'SHOAL_UNAVAILABLE',
  CLOSED: 'SHOAL_CLOSED',
  STALE_RING: 'SHOAL_STALE_RING',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class ShoalError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Fewer replicas answered than the request's R or W. */
export class QuorumUnavailableError extends ShoalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.QUORUM_UNAVAILABLE, message, options);
  }
}

export class TimeoutError extends ShoalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.TIMEOUT, message, options);
  }
}

/** A key, value or frame over its configured limit. Nothing was written. */
export class TooLargeError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.TOO_LARGE, message);
  }
}

/** A causal context that does not decode. Nothing was written. */
export class BadContextError extends ShoalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.BAD_CONTEXT, message, options);
  }
}

export class UnauthorizedError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.UNAUTHORIZED, message);
  }
}

/** A request of the wrong shape (types, missing fields, out-of-range options). */
export class BadRequestError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.BAD_REQUEST, message);
  }
}

export class UnknownMessageError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.UNKNOWN_MESSAGE, message);
  }
}

export class OverloadedError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.OVERLOADED, message);
  }
}

export class UnavailableError extends ShoalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.UNAVAILABLE, message, options);
  }
}

/**
 * A replica read named a ring this node does not have (the reader's is older or
 * newer): the answer could come from a node that no longer holds the key. The
 * SDK re-reads the ring and asks a coordinator instead.
 */
export class StaleRingError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.STALE_RING, message);
  }
}

/** The object (store, connection, client) was closed. */
export class ClosedError extends ShoalError {
  constructor(message: string) {
    super(ErrorCodes.CLOSED, message);
  }
}

export class InternalError extends ShoalError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.INTERNAL, message, options);
  }
}
