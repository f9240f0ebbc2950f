// The SDK face.
export { Client, type ClientOptions, type ClientStats, type DeleteOptions, type GetOptions, type PutOptions, type Scope, type TouchOptions } from './client.js';
