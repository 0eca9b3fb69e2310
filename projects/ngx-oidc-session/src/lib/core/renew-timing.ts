import { AuthError } from './errors';
import { FailureClass } from './auth-state';

/** setTimeout's largest delay (2^31 - 1 ms, about 24.8 days); longer delays fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * The lead time is at most this share of the token's lifetime: a renewal always happens in
 * the last fifth of the lifetime, never right after the previous one. A 60-second token
 * with a 60-second lead thus renews 48 seconds after it was issued, about once a minute.
 */
export const MAX_LEAD_SHARE = 0.2;
/** Never renew sooner than this after receiving a token, whatever the token says. */
export const MIN_RENEW_DELAY_MS = 1_000;

/** When the session should be renewed, ms since the epoch. */
export function renewAt(expiresAt: number, receivedAt: number, leadSeconds: number): number {
  const lifetime = Math.max(0, expiresAt - receivedAt);
  const lead = Math.min(leadSeconds * 1000, lifetime * MAX_LEAD_SHARE);
  return Math.max(expiresAt - lead, receivedAt + Math.min(MIN_RENEW_DELAY_MS, lifetime));
}

/** A token this close to expiry is not handed out: it could expire on its way to the API. */
export const EXPIRY_MARGIN_MS = 10_000;

/**
 * Whether the access token is too close to expiry to use. The margin shrinks for short-lived
 * tokens (a tenth of the lifetime), or every use of a 10-second token would renew it.
 */
export function isExpiring(expiresAt: number, receivedAt: number, now: number): boolean {
  const lifetime = Math.max(0, expiresAt - receivedAt);
  return expiresAt - now <= Math.min(EXPIRY_MARGIN_MS, lifetime / 10);
}

/** Retries after transient failures: exponential, with jitter, bounded in count and time. */
export const RETRY_BASE_MS = 1_000;
export const RETRY_CAP_MS = 30_000;
export const RETRY_MAX_ATTEMPTS = 8;
export const RETRY_MAX_TOTAL_MS = 3 * 60_000;

/**
 * Delay before retry number `attempt` (1 for the first retry): base * 2^(attempt-1), capped,
 * with "equal jitter" (half fixed, half random) so that many tabs or clients that failed
 * together do not retry together, while a retry never comes sooner than half the delay.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * Whether another retry fits the budget. `attempt` is the retry about to be scheduled,
 * `firstFailureAt` when the current run of failures began.
 */
export function retryAllowed(attempt: number, firstFailureAt: number, now: number, delayMs: number): boolean {
  return attempt <= RETRY_MAX_ATTEMPTS && now + delayMs - firstFailureAt <= RETRY_MAX_TOTAL_MS;
}

/** OAuth error codes that say: the session is over, an interactive sign-in is needed. */
const SESSION_OVER = new Set(['invalid_grant', 'login_required', 'interaction_required', 'consent_required', 'account_selection_required', 'invalid_client', 'unauthorized_client']);
/** OAuth error codes that say: try again later. */
const TRY_LATER = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);

/**
 * Transient: the network, the OP's availability or time (retry with backoff, keep the
 * session). Permanent: the OP refused the session, or the new tokens failed validation
 * (end the session cleanly).
 */
export function classifyFailure(error: AuthError): FailureClass {
  const oauthError = error.details.oauthError;
  if (oauthError && SESSION_OVER.has(oauthError)) return 'permanent';
  if (oauthError && TRY_LATER.has(oauthError)) return 'transient';
  return error.retryable ? 'transient' : 'permanent';
}
