// Counters shared by the connections of one server or one peer pool; plain
// numbers, read as snapshots for /status and tests.

/** Connections closed for cause, by cause. */
export interface TransportErrors {
  /** Failed, incomplete or timed-out handshakes; frames before the handshake. */
  unauthorized: number;
  /** Frames that do not decode as an Envelope. */
  malformed: number;
  /** Frames announced longer than the limit. */
  oversize: number;
  /** Envelopes of a kind this build does not know (answered, connection kept). */
  unknownMessage: number;
}

export interface TransportCounters {
  framesIn: number;
  framesOut: number;
  /** socket.write calls; framesOut / writes is how well writes coalesce. */
  writes: number;
  /** Bytes received, frame headers included. */
  bytesIn: number;
  /** Bytes handed to sockets, frame headers included. */
  bytesOut: number;
  errors: TransportErrors;
}

export function newCounters(): TransportCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    writes: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: { unauthorized: 0, malformed: 0, oversize: 0, unknownMessage: 0 },
  };
}

export function copyCounters(c: TransportCounters): TransportCounters {
  return { ...c, errors: { ...c.errors } };
}
