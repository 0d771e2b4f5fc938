export { apiRequestOf, apiResultOf, errorCodeOf, type HttpApiEvent } from './event';
export { errorResponse, handleApiRequest } from './handleRequest';
export { type ApiLimits, DEFAULT_LIMITS } from './limits';
export { ROUTES } from './router';
export type { ApiContext, ApiLogger, ApiPrincipal, ApiRequest, ApiResponse, AuditEntry, AuditSubject } from './types';
