// The HTTP API face.
export { HttpApi, CONTEXT_HEADER, TTL_HEADER, type HttpApiOptions } from './http-server.js';
export type { GetResult, KeyValueService } from './service.js';
