// The transport face: UDP datagrams for gossip, framed TCP for everything else,
// both authenticated with the cluster keyring.
export { Keyring, keyIdOf, parseKey, KEY_BYTES, SEAL_OVERHEAD } from './keyring.js';
