import type { Services } from '../../shared/services/container.ts';
import type { Principal } from '../../shared/services/api-keys.ts';

// Typed request context: the process's services, this request's id and caller.
export type AppEnv = {
  Variables: {
    services: Services;
    requestId: string;
    principal: Principal;
    /** micro-USD charged by this request, for the request log line */
    cost: string;
  };
};
