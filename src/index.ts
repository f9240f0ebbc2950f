// The package face of Shoal: the SDK, the typed errors, and the node itself for
// embedding or tooling.
export { Client, type ClientOptions, type ClientStats, type DeleteOptions, type GetOptions, type PutOptions, type Scope, type TouchOptions } from './client/index.js';
export * from './errors.js';
export { ShoalNode, type NodeOptions } from './node.js';
export { Keyring, parseKey } from './transport/index.js';
