// The HTTP API face: key-value routes, status and metrics, admin actions.
export { HttpApi, CONTEXT_HEADER, TTL_HEADER, type HttpApiOptions } from './http-server.js';
export type { AdminService, GetResult, KeyValueService } from './service.js';
