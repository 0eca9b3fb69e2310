import { AuthError } from './errors';
import {
  MAX_TIMER_MS,
  RETRY_CAP_MS,
  RETRY_MAX_ATTEMPTS,
  RETRY_MAX_TOTAL_MS,
  backoffDelayMs,
  classifyFailure,
  isExpiring,
  renewAt,
  retryAllowed,
} from './renew-timing';

const T0 = 1_700_000_000_000;

describe('renew timing', () => {
  it('renews the configured lead time before expiry for ordinary tokens', () => {
    expect(renewAt(T0 + 300_000, T0, 60) - T0).toBe(240_000);
    expect(renewAt(T0 + 3_600_000, T0, 60) - T0).toBe(3_540_000);
    expect(renewAt(T0 + 3_600_000, T0, 0) - T0).toBe(3_600_000);
  });

  it('clamps the lead time so that a short token never renews in a loop', () => {
    // A 60-second token with a 60-second lead renews after 48 s: about once a minute.
    expect(renewAt(T0 + 60_000, T0, 60) - T0).toBe(48_000);
    // A 10-second token with the default lead renews after 8 s.
    expect(renewAt(T0 + 10_000, T0, 60) - T0).toBe(8_000);
    // Even a token that claims no lifetime is not renewed the instant it arrived.
    expect(renewAt(T0 + 500, T0, 60) - T0).toBe(500);
    expect(renewAt(T0, T0, 60) - T0).toBe(0);
    expect(renewAt(T0 + 2_000, T0, 60) - T0).toBeGreaterThanOrEqual(1_000);
  });

  it('computes delays longer than setTimeout allows (handled by chaining timers)', () => {
    const sixtyDays = 60 * 24 * 3_600_000;
    expect(renewAt(T0 + sixtyDays, T0, 60) - T0).toBeGreaterThan(MAX_TIMER_MS);
  });

  it('hands out a token until close to expiry, with a margin fit for its lifetime', () => {
    expect(isExpiring(T0 + 300_000, T0, T0 + 289_000)).toBeFalse();
    expect(isExpiring(T0 + 300_000, T0, T0 + 290_000)).toBeTrue();
    // A 10-second token is usable for 9 seconds, not "always expiring".
    expect(isExpiring(T0 + 10_000, T0, T0 + 5_000)).toBeFalse();
    expect(isExpiring(T0 + 10_000, T0, T0 + 9_000)).toBeTrue();
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelayMs(1, () => 0)).toBe(500);
    expect(backoffDelayMs(1, () => 1)).toBe(1_000);
    expect(backoffDelayMs(3, () => 0.5)).toBe(3_000);
    for (let attempt = 1; attempt <= 20; attempt++) {
      const delay = backoffDelayMs(attempt);
      expect(delay).toBeLessThanOrEqual(RETRY_CAP_MS);
      expect(delay).toBeGreaterThanOrEqual(Math.min(RETRY_CAP_MS, 1_000 * 2 ** (attempt - 1)) / 2);
    }
  });

  it('bounds retries in count and in total time', () => {
    expect(retryAllowed(1, T0, T0, 1_000)).toBeTrue();
    expect(retryAllowed(RETRY_MAX_ATTEMPTS, T0, T0 + 10_000, 1_000)).toBeTrue();
    expect(retryAllowed(RETRY_MAX_ATTEMPTS + 1, T0, T0 + 10_000, 1_000)).toBeFalse();
    expect(retryAllowed(2, T0, T0 + RETRY_MAX_TOTAL_MS - 500, 1_000)).toBeFalse();
  });

  it('classifies failures: network, 5xx and timeouts are transient', () => {
    expect(classifyFailure(new AuthError('network_error', 'x', true))).toBe('transient');
    expect(classifyFailure(new AuthError('timeout', 'x', true))).toBe('transient');
    expect(classifyFailure(new AuthError('network_error', 'x', true, { status: 503 }))).toBe('transient');
    expect(classifyFailure(new AuthError('authorization_error', 'x', false, { oauthError: 'temporarily_unavailable' }))).toBe('transient');
  });

  it('classifies failures: a refused session or an invalid token is permanent', () => {
    // Marked retryable on purpose: the OAuth error decides, whatever the transport said.
    for (const oauthError of ['invalid_grant', 'login_required', 'interaction_required', 'consent_required']) {
      expect(classifyFailure(new AuthError('token_error', 'x', true, { oauthError }))).withContext(oauthError).toBe('permanent');
    }
    expect(classifyFailure(new AuthError('id_token_invalid', 'x'))).toBe('permanent');
    expect(classifyFailure(new AuthError('no_session', 'x'))).toBe('permanent');
  });
});
