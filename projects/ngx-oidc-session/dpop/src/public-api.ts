/*
 * ngx-oidc-session/dpop: sender-constrained tokens (DPoP, RFC 9449). A secondary entry point, so
 * that an app that never imports it has none of its code, nor its import(), in its build.
 */
export { withDPoP } from './with-dpop';
