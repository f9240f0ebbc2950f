// TLS for the framed TCP port (peers and clients alike), optional. It adds
// confidentiality: the cluster-key handshake that follows still authenticates both
// ends, so a certificate is checked against the cluster's CA but not against the
// address dialled (nodes are reached by IP; Cassandra's internode encryption makes
// the same choice by default).
import { type ConnectionOptions, type TLSSocket, type TlsOptions, connect, createServer } from 'node:tls';
import type { Server, Socket } from 'node:net';

/** A node's TLS material: its certificate chain and key, and the CA its peers' certificates are checked against (PEM). */
export interface NodeTls {
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
}

/** What a client needs to reach a TLS cluster: the CA to check the nodes' certificates against (PEM; default: the system's). */
export interface ClientTls {
  ca?: string | Buffer;
}

const MIN_VERSION = 'TLSv1.2';

/** A TLS server that hands `accept` each connection once its TLS handshake is done; failed handshakes go to `onError`. */
export function tlsServer(tls: NodeTls, handshakeTimeoutMs: number, accept: (socket: Socket) => void, onError: () => void): Server {
  const options: TlsOptions = { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: false, handshakeTimeout: handshakeTimeoutMs, minVersion: MIN_VERSION };
  const server = createServer(options, accept);
  // A client that is not TLS, or that gives up mid-handshake: its socket is destroyed; count it.
  server.on('tlsClientError', onError);
  return server;
}

/** Dials host:port over TLS, checking the server's certificate against `tls.ca`. */
export function tlsConnect(host: string, port: number, tls: ClientTls | NodeTls): TLSSocket {
  const options: ConnectionOptions = {
    host,
    port,
    minVersion: MIN_VERSION,
    checkServerIdentity: () => undefined,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...('cert' in tls ? { cert: tls.cert, key: tls.key } : {}),
  };
  return connect(options);
}
