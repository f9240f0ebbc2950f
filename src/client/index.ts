// The SDK face.
export { Client, type ClientOptions, type ClientStats, type DeleteOptions, type GetOptions, type PutOptions } from './client.js';
