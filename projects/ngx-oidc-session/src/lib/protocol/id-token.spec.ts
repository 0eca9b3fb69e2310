import { AuthError, AuthErrorCode } from '../core/errors';
import { AuthHarness } from '../../testing/harness';
import { checkRefreshedIdToken } from './oidc-client';
import { IdTokenClaims } from '../core/session';

/** Signs in with the next ID token changed by `tamper`, and returns the state and last error. */
async function signInWith(tamper: (harness: AuthHarness) => void | Promise<void>) {
  const harness = await AuthHarness.create();
  await harness.load();
  const authorize = await harness.startLogin();
  await tamper(harness);
  const auth = await harness.load(harness.callbackUrl(authorize));
  return { harness, state: auth.state() };
}

function expectRejected(state: { status: string; error: AuthError | null }, code: AuthErrorCode = 'id_token_invalid', message?: RegExp) {
  expect(state.status).toBe('unauthenticated');
  expect(state.error?.code).toBe(code);
  if (message) expect(state.error?.message).toMatch(message);
}

const now = () => Math.floor(Date.now() / 1000);

describe('ID token validation (OIDC Core 3.1.3.7)', () => {
  it('accepts a valid RS256 token', async () => {
    const { state, harness } = await signInWith(() => undefined);
    expect(state.status).toBe('authenticated');
    expect(state.user?.sub).toBe('alice');
    expect(harness.storage.getItem(`ngx-oidc-session:spa@${harness.op.issuer}/:session`)).not.toBeNull();
  });

  for (const kid of ['ps-1', 'es-1']) {
    it(`accepts a valid token signed with ${kid === 'ps-1' ? 'PS256' : 'ES256'}`, async () => {
      const { state } = await signInWith((harness) => {
        harness.op.signingKid = kid;
      });
      expect(state.status).toBe('authenticated');
    });
  }

  it('rejects another issuer (iss)', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { iss: 'https://evil.example.com' }))).state);
  });

  it('rejects another audience (aud)', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { aud: 'other-client' }))).state);
  });

  it('rejects several audiences with another authorized party (azp)', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { aud: ['spa', 'api'], azp: 'api' }))).state);
  });

  it('accepts several audiences when azp is this client', async () => {
    const { state } = await signInWith((h) => void (h.op.idTokenOverrides = { aud: ['spa', 'api'], azp: 'spa' }));
    expect(state.status).toBe('authenticated');
  });

  it('rejects an expired token (exp)', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { exp: now() - 3600, iat: now() - 7200 }))).state);
  });

  it('rejects a token without iat', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { iat: undefined }))).state);
  });

  it('rejects a wrong nonce', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { nonce: 'replayed-nonce' }))).state, 'id_token_invalid', /nonce/);
  });

  it('rejects a missing nonce', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { nonce: undefined }))).state);
  });

  it('rejects a token without sub', async () => {
    expectRejected((await signInWith((h) => void (h.op.idTokenOverrides = { sub: undefined }))).state);
  });

  it('rejects a signature made with a key the OP does not publish', async () => {
    const { state, harness } = await signInWith(async (h) => {
      await h.op.addKey('RS256', 'attacker');
      h.op.publishedKids = ['rs-1', 'ps-1', 'es-1'];
      h.op.signingKid = 'attacker';
    });
    expectRejected(state);
    // oauth4webapi's rule: a key set younger than a minute is not fetched again for an unknown kid.
    expect(harness.op.requestsTo('/jwks').length).toBe(1);
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const harness = await AuthHarness.create();
    await harness.load();
    const authorize = await harness.startLogin();
    const realToken = harness.op.handlers['/token'];
    harness.op.handlers['/token'] = async (request) => {
      const reply = await realToken(request);
      const body = reply.body as Record<string, string>;
      const [header, payload, signature] = body['id_token'].split('.');
      const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
      const forged = btoa(JSON.stringify({ ...claims, sub: 'mallory' })).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      return { ...reply, body: { ...body, id_token: `${header}.${forged}.${signature}` } };
    };
    const auth = await harness.load(harness.callbackUrl(authorize));
    expectRejected(auth.state());
  });

  it('fetches the JWKS once more when the OP signs with a key it rotated in', async () => {
    const harness = await AuthHarness.create();
    harness.op.publishedKids = ['rs-1'];
    await harness.signIn(); // JWKS cached with rs-1 only
    expect(harness.op.requestsTo('/jwks').length).toBe(1);
    harness.op.publishedKids = null; // the OP now publishes es-1 too, and signs with it
    harness.op.signingKid = 'es-1';
    // oauth4webapi fetches the key set again for an unknown kid once its copy is a minute old
    // (by Date.now, which it reads itself).
    const now = Date.now.bind(Date);
    spyOn(Date, 'now').and.callFake(() => now() + 61_000);
    // Same page, so the JWKS in memory is the old one: the renewal's ID token has an unknown kid.
    const outcome = await harness.runNextTimer();
    expect(outcome.type).toBe('token_renewed');
    expect(harness.auth.state().status).toBe('authenticated');
    expect(harness.op.requestsTo('/jwks').length).toBe(2);
  });

  it('never puts token material in the error', async () => {
    const { state } = await signInWith((h) => void (h.op.idTokenOverrides = { nonce: 'x' }));
    const text = `${state.error?.message} ${JSON.stringify(state.error?.details)}`;
    expect(text).not.toMatch(/eyJ|at-\d|rt-\d|good-code/);
  });
});

describe('refreshed ID token (OIDC Core 12.2)', () => {
  const original: IdTokenClaims = { iss: 'https://op', sub: 'alice', aud: 'spa', exp: 2000, iat: 1000, nonce: 'n1', auth_time: 900 };

  it('accepts same iss/sub/aud, a newer iat, the original nonce or none', () => {
    expect(() => checkRefreshedIdToken({ ...original, iat: 1500, exp: 2500 }, original)).not.toThrow();
    expect(() => checkRefreshedIdToken({ ...original, iat: 1500, nonce: undefined }, original)).not.toThrow();
  });

  const cases: [string, Partial<IdTokenClaims>][] = [
    ['another issuer', { iss: 'https://evil' }],
    ['another user', { sub: 'mallory' }],
    ['another audience', { aud: 'other' }],
    ['an older iat', { iat: 999 }],
    ['another nonce', { nonce: 'n2' }],
    ['another auth_time', { auth_time: 950 }],
  ];
  for (const [name, change] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => checkRefreshedIdToken({ ...original, iat: 1500, ...change } as IdTokenClaims, original)).toThrowMatching(
        (error) => error instanceof AuthError && error.code === 'id_token_invalid',
      );
    });
  }
});

describe('a refused refreshed ID token (OIDC Core 12.2) in a renewal', () => {
  /** Resolves once the OP got a revocation request (the library sends it without waiting for it). */
  const revocationArrived = (harness: AuthHarness) =>
    new Promise<void>((resolve) => {
      if (harness.op.requestsTo('/revoke').length) return resolve();
      const revoke = harness.op.handlers['/revoke'];
      harness.op.handlers['/revoke'] = (request) => (resolve(), revoke(request));
    });

  for (const [name, change] of [
    ['another nonce', { nonce: 'other-nonce' }],
    ['another auth_time', { auth_time: 1 }],
  ] as const) {
    it(`ends the session on ${name} and revokes the rotated refresh token of the refused response`, async () => {
      const harness = await AuthHarness.create();
      await harness.signIn();
      expect(harness.auth.state().status).toBe('authenticated');
      harness.op.idTokenOverrides = change;
      const outcome = await harness.runNextTimer();
      expect(outcome).toEqual(jasmine.objectContaining({ type: 'renew_failed', failureClass: 'permanent', error: jasmine.objectContaining({ code: 'id_token_invalid' }) }));
      expect(harness.auth.state().status).toBe('unauthenticated');
      await revocationArrived(harness);
      const revoked = harness.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));
      // rt-1 came with the sign-in and was spent by the renewal; rt-2 came with the refused response.
      expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1']);
      expect(revoked).toEqual(['rt-2']);
    });
  }

  it('revokes nothing when the OP did not rotate the refresh token (it is still the session’s, and the session ends without it)', async () => {
    const harness = await AuthHarness.create();
    harness.op.rotateRefreshToken = false;
    await harness.signIn();
    harness.op.idTokenOverrides = { nonce: 'other-nonce' };
    const outcome = await harness.runNextTimer();
    expect(outcome.type).toBe('renew_failed');
    expect(harness.op.requestsTo('/revoke')).toEqual([]);
  });
});
