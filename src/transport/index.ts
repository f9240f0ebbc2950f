// The transport face: UDP datagrams for gossip, framed TCP for everything else,
// both authenticated with the cluster keyring.
export { Keyring, keyIdOf, parseKey, KEY_BYTES, SEAL_OVERHEAD } from './keyring.js';
// Framed TCP RPC (docs/protocol.md, "TCP frames and handshake").
export { RpcServer } from './rpc-server.js';
export type { RpcServerOptions, RpcServerStats, RpcHandler, PeerInfo } from './rpc-server.js';
export { RpcPeers, type ReplyHandler } from './rpc-peers.js';
export type { RpcPeersOptions, RpcPeersStats, RequestOptions } from './rpc-peers.js';
export type { Body, BodyOf } from './body.js';
export type { BackoffOptions } from './backoff.js';
export type { TransportCounters, TransportErrors } from './counters.js';
export { DEFAULT_MAX_FRAME_BYTES } from './limits.js';
export { PROTOCOL_VERSION } from './handshake.js';
export type { ClientTls, NodeTls } from './tls.js';
export { CLIENT_NAME, clientKey, formatToken, parseToken } from './client-token.js';
// UDP datagrams for gossip (src/membership seals and decodes them).
export { UdpTransport, DEFAULT_MAX_DATAGRAM_BYTES } from './udp.js';
export type { DatagramTransport, DatagramHandler, DatagramCounters, UdpTransportOptions } from './udp.js';
export { MemoryNetwork, MemoryTransport } from './udp-memory.js';
export type { MemoryNetworkOptions, MemoryTransportOptions, Schedule } from './udp-memory.js';
export { FaultFilter } from './udp-filter.js';
