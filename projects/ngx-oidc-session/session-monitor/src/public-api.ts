/*
 * ngx-oidc-session/session-monitor: withSessionMonitor(), OP session monitoring (OpenID Connect
 * Session Management 1.0, Front-Channel Logout 1.0). An app that does not import this entry
 * point ships none of it.
 */
export { withSessionMonitor } from './with-session-monitor';
export type { SessionMonitorOptions } from './with-session-monitor';
