import { AuthHarness } from '../../testing/harness';

// A token response the OP answered with 200 and the library then refused has spent what was
// presented (the code, or a rotated refresh token): the refresh token it carries must not stay
// valid at the OP, unused. Most refusals come from oauth4webapi's own checks of the ID token.

const now = () => Math.floor(Date.now() / 1000);

const REFUSED_ID_TOKENS: [string, Record<string, unknown>][] = [
  ['another audience (aud)', { aud: 'someone-else' }],
  ['another issuer (iss)', { iss: 'https://evil.example.com' }],
  ['an expired token (exp)', { exp: now() - 3600, iat: now() - 7200 }],
  ['no iat', { iat: undefined }],
];

/**
 * The tokens the OP was asked to revoke before a later sign-in's logout revoked its own. The
 * library sends a refused response's revocation without waiting for it: one it sent would have
 * arrived by then (it needs the cached discovery and one request; a sign-in and logout many more).
 */
async function revokedBeforeALaterLogout(harness: AuthHarness): Promise<(string | null)[]> {
  harness.op.idTokenOverrides = {};
  await harness.signIn();
  expect((await harness.auth.logout()).refreshTokenRevoked).toBe(true);
  return (await harness.revokedTokens()).slice(0, -1);
}

describe('a refused token response (its refresh token revoked at the OP)', () => {
  describe('in a renewal (refresh-token grant)', () => {
    for (const [what, claims] of REFUSED_ID_TOKENS) {
      it(`ends the session on ${what} and revokes the rotated refresh token of the response`, async () => {
        const harness = await AuthHarness.create();
        await harness.signIn();
        harness.op.idTokenOverrides = claims;
        const outcome = await harness.runNextTimer();
        expect(outcome).toEqual(jasmine.objectContaining({ type: 'renew_failed', error: jasmine.objectContaining({ code: 'id_token_invalid' }) }));
        expect(harness.auth.state().status).toBe('unauthenticated');
        // rt-1 came with the sign-in and was spent by the renewal; rt-2 came with the refused response.
        expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1']);
        expect(await harness.revokedTokens()).toEqual(['rt-2']);
      });
    }

    it('revokes the rotated refresh token of a response with a token type the app did not ask for', async () => {
      const harness = await AuthHarness.create();
      await harness.signIn();
      const token = harness.op.handlers['/token'];
      harness.op.handlers['/token'] = async (request) => {
        const reply = await token(request);
        return { ...reply, body: { ...(reply.body as object), token_type: 'DPoP' } };
      };
      const outcome = await harness.runNextTimer();
      expect(outcome).toEqual(jasmine.objectContaining({ type: 'renew_failed', error: jasmine.objectContaining({ code: 'invalid_response' }) }));
      expect(await harness.revokedTokens()).toEqual(['rt-2']);
    });

    it('revokes nothing when the OP did not rotate: the refused response names the session’s own refresh token', async () => {
      const harness = await AuthHarness.create();
      harness.op.rotateRefreshToken = false;
      await harness.signIn();
      // An OP that does not rotate but still names the refresh token in every response.
      const token = harness.op.handlers['/token'];
      harness.op.handlers['/token'] = async (request) => {
        const reply = await token(request);
        return { ...reply, body: { ...(reply.body as object), refresh_token: 'rt-1' } };
      };
      harness.op.idTokenOverrides = { aud: 'someone-else' };
      const outcome = await harness.runNextTimer();
      expect(outcome.type).toBe('renew_failed');
      expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-1']);
      harness.op.handlers['/token'] = token;
      expect(await revokedBeforeALaterLogout(harness)).toEqual([]);
    });
  });

  describe('in a sign-in (code grant)', () => {
    /** Signs in with the next ID token's claims changed, and returns the state it ends in. */
    async function signInWith(harness: AuthHarness, claims: Record<string, unknown>) {
      await harness.load();
      const authorize = await harness.startLogin();
      harness.op.idTokenOverrides = claims;
      return (await harness.load(harness.callbackUrl(authorize))).state();
    }

    for (const [what, claims] of [...REFUSED_ID_TOKENS, ['another nonce', { nonce: 'other-nonce' }] as [string, Record<string, unknown>]]) {
      it(`refuses ${what} and revokes the refresh token the OP issued with it`, async () => {
        const harness = await AuthHarness.create();
        const state = await signInWith(harness, claims);
        expect(state.status).toBe('unauthenticated');
        expect(state.error?.code).toBe('id_token_invalid');
        expect(await harness.revokedTokens()).toEqual(['rt-1']);
      });
    }

    it('revokes nothing when the OP refused the code (no 200 answer, no token)', async () => {
      const harness = await AuthHarness.create();
      await harness.load();
      const authorize = await harness.startLogin();
      const state = (await harness.load(harness.callbackUrl(authorize, { code: 'bad-code' }))).state();
      expect(state.error?.code).toBe('token_error');
      expect(await revokedBeforeALaterLogout(harness)).toEqual([]);
    });

    it('keeps the refusal as it is when the OP has no revocation endpoint (Entra ID): nothing can be revoked', async () => {
      const harness = await AuthHarness.create();
      delete harness.op.metadata['revocation_endpoint'];
      const state = await signInWith(harness, { aud: 'someone-else' });
      expect(state.status).toBe('unauthenticated');
      expect(state.error?.code).toBe('id_token_invalid');
      expect(harness.op.requestsTo('/revoke')).toEqual([]);
    });
  });
});
