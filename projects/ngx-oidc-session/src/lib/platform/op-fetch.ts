import { InjectionToken } from '@angular/core';

/** A fetch for the library's own requests to the OP (the global fetch's signature). */
export type OpFetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Internal, not exported: replaces the global fetch for requests to the OP, so that unit tests
 * can answer them with a fake OP. Apps have no reason to set it: the library always sends its
 * OP requests with `fetch(..., { redirect: 'manual' })`, past every HTTP interceptor.
 */
export const OP_FETCH = new InjectionToken<OpFetch>('ngx-oidc-session OP fetch');
