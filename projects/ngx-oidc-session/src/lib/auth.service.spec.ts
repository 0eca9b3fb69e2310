import { TestBed } from '@angular/core/testing';
import { HttpBackend, provideHttpClient } from '@angular/common/http';
import { PLATFORM_ID } from '@angular/core';
import { APP_BASE_HREF } from '@angular/common';
import { UrlSegment } from '@angular/router';
import { authMatchGuard } from './router/auth.guard';
import { APP, AuthHarness } from '../testing/harness';
import { FakeOp } from '../testing/fake-op';
import { provideAuth } from './provide-auth';
import { AuthService } from './auth.service';
import { AuthError } from './core/errors';
import { TokenStorage } from './core/token-storage';

const sessionKey = (harness: AuthHarness) => `ngx-oidc-session:spa@${harness.op.issuer}/:session`;
const attemptKey = (harness: AuthHarness) => `ngx-oidc-session:spa@${harness.op.issuer}/:sign-in`;
const storedReturnUrl = (harness: AuthHarness) => (JSON.parse(harness.attempts.getItem(attemptKey(harness))!) as { returnUrl: string }).returnUrl;

describe('AuthService sign-in', () => {
  let harness: AuthHarness;

  beforeEach(async () => {
    harness = await AuthHarness.create({ authorizeParams: { ui_locales: 'de' } });
  });

  it('starts unauthenticated without a stored session, with no request to the OP', async () => {
    const auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.op.requests.length).toBe(0);
  });

  it('sends the browser to the OP with code + PKCE S256, fresh state and nonce, and extra params', async () => {
    await harness.load();
    const first = await harness.startLogin({ prompt: 'login', loginHint: 'alice@example.com', params: { acr_values: 'mfa' } });
    expect(first.origin + first.pathname).toBe(`${harness.op.issuer}/authorize`);
    const params = first.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe('spa');
    expect(params.get('redirect_uri')).toBe(`${APP}/`);
    expect(params.get('scope')).toBe('openid profile email');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('prompt')).toBe('login');
    expect(params.get('login_hint')).toBe('alice@example.com');
    expect(params.get('acr_values')).toBe('mfa');
    expect(params.get('ui_locales')).toBe('de');
    const second = await harness.startLogin();
    expect(second.searchParams.get('state')).not.toBe(params.get('state'));
    expect(second.searchParams.get('nonce')).not.toBe(params.get('nonce'));
    expect(second.searchParams.get('code_challenge')).not.toBe(params.get('code_challenge'));
    expect(harness.events.map((event) => event.type)).toEqual(['sign_in_started', 'sign_in_started']);
  });

  it('completes the callback: authenticated, user known, code and state gone from the URL', async () => {
    await harness.load(`${APP}/orders?page=2`);
    const authorize = await harness.startLogin();
    const auth = await harness.load(harness.callbackUrl(authorize));
    expect(auth.state().status).toBe('authenticated');
    expect(auth.user()?.sub).toBe('alice');
    expect(auth.state().accessTokenExpiresAt).toBe(harness.clock.now() + 300_000);
    expect(harness.browser.replacedUrls).toEqual(['/orders?page=2']);
    expect(harness.events.some((event) => event.type === 'signed_in')).toBeTrue();
    // The PKCE verifier went to the token endpoint; the code was redeemed once.
    const tokenRequest = harness.op.requestsTo('/token')[0];
    expect(new URLSearchParams(String(tokenRequest.body)).get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(await auth.getAccessToken()).toBe('at-1');
  });

  it('returns to an explicit return URL, and refuses one on another origin', async () => {
    await harness.load();
    const authorize = await harness.startLogin({ returnUrl: '/protected#top' });
    await harness.load(harness.callbackUrl(authorize));
    expect(harness.browser.replacedUrls.at(-1)).toBe('/protected#top');
    await expectAsync(harness.auth.login({ returnUrl: 'https://evil.example.com/' })).toBeRejectedWithError(AuthError, /same origin/);
  });

  it('replaces a return URL that normalizes to a protocol-relative path by "/"', async () => {
    for (const returnUrl of ['/.//evil.example', '//evil.example/path', '/\\evil.example', '/a/../..//evil.example']) {
      await harness.load();
      const authorize = await harness.startLogin({ returnUrl });
      expect(storedReturnUrl(harness)).withContext(returnUrl).toBe('/');
      const auth = await harness.load(harness.callbackUrl(authorize));
      expect(auth.state().status).withContext(returnUrl).toBe('authenticated');
      expect(harness.browser.replacedUrls.at(-1)).withContext(returnUrl).toBe('/');
    }
  });

  it('replaces it by "/" also when it comes percent-encoded through authMatchGuard', async () => {
    harness.providers = [{ provide: APP_BASE_HREF, useValue: '/' }];
    // `/.%2F%2Fevil.example`: the router hands the guard the decoded segment `.//evil.example`.
    await harness.load(`${APP}/.%2F%2Fevil.example`);
    const allowed = await TestBed.runInInjectionContext(() => (authMatchGuard as (route: object, segments: UrlSegment[]) => Promise<boolean>)({}, [new UrlSegment('.//evil.example', {})]));
    expect(allowed).toBeFalse();
    expect(storedReturnUrl(harness)).toBe('/');
    const authorize = new URL(harness.browser.navigations.at(-1)!);
    harness.op.nonce = authorize.searchParams.get('nonce') ?? undefined;
    const auth = await harness.load(harness.callbackUrl(authorize));
    expect(auth.state().status).toBe('authenticated');
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
  });

  it('never lets a stored protocol-relative return URL make start-up throw', async () => {
    await harness.load();
    const authorize = await harness.startLogin();
    const attempt = JSON.parse(harness.attempts.getItem(attemptKey(harness))!) as Record<string, unknown>;
    harness.attempts.setItem(attemptKey(harness), JSON.stringify({ ...attempt, returnUrl: '/.//evil.example' }));
    const auth = await harness.load(harness.callbackUrl(authorize));
    expect(auth.state().status).toBe('authenticated');
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
  });

  it('rejects a tampered state before redeeming the code', async () => {
    await harness.load();
    const authorize = await harness.startLogin();
    const auth = await harness.load(harness.callbackUrl(authorize, { state: 'forged-state' }));
    expect(auth.state().status).toBe('unauthenticated');
    expect(auth.state().error?.code).toBe('state_mismatch');
    expect(harness.op.requestsTo('/token').length).toBe(0);
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
  });

  it('rejects a callback when no sign-in was started in this browser', async () => {
    const auth = await harness.load(`${APP}/?code=good-code&state=abc&iss=${encodeURIComponent(harness.op.issuer)}`);
    expect(auth.state().error?.code).toBe('state_mismatch');
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('rejects a wrong or missing iss (RFC 9207) before redeeming the code', async () => {
    await harness.load();
    let authorize = await harness.startLogin();
    let auth = await harness.load(harness.callbackUrl(authorize, { iss: 'https://evil.example.com' }));
    expect(auth.state().error?.code).toBe('iss_mismatch');
    authorize = await harness.startLogin();
    auth = await harness.load(harness.callbackUrl(authorize, { iss: null }));
    expect(auth.state().error?.code).toBe('iss_mismatch');
    expect(harness.op.requestsTo('/token').length).toBe(0);
  });

  it('reports an error response from the OP and stays signed out', async () => {
    await harness.load();
    const authorize = await harness.startLogin();
    const auth = await harness.load(harness.callbackUrl(authorize, { code: null, error: 'access_denied', error_description: 'User said no' }));
    expect(auth.state().status).toBe('unauthenticated');
    expect(auth.state().error?.code).toBe('authorization_error');
    expect(auth.state().error?.details.oauthError).toBe('access_denied');
    expect(harness.events.find((event) => event.type === 'error')).toBeDefined();
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
  });

  it('uses a sign-in attempt only once', async () => {
    await harness.load();
    const authorize = await harness.startLogin();
    const callback = harness.callbackUrl(authorize);
    await harness.load(callback);
    harness.storage.removeItem(sessionKey(harness));
    const replay = await harness.load(callback);
    expect(replay.state().error?.code).toBe('state_mismatch');
    expect(harness.op.requestsTo('/token').length).toBe(1);
  });

  it('ignores a callback loaded again after sign-in: the session stays, the code is not redeemed, the URL is cleaned', async () => {
    await harness.load(`${APP}/orders`);
    const authorize = await harness.startLogin();
    const callback = harness.callbackUrl(authorize);
    await harness.load(callback);
    const stored = harness.storage.getItem(sessionKey(harness));
    harness.events.length = 0;
    // A reload of the callback URL, or the same link pasted again.
    const auth = await harness.load(callback);
    expect(auth.state().status).toBe('authenticated');
    expect(auth.state().error).toBeNull();
    expect(await auth.getAccessToken()).toBe('at-1');
    expect(harness.storage.getItem(sessionKey(harness))).toBe(stored);
    expect(harness.op.requestsTo('/token').length).toBe(1);
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
    expect(harness.events.map((event) => event.type)).toEqual([]);
  });

  it('never clears a stored session for a crafted callback from another site', async () => {
    await harness.signIn();
    // This tab may even have a sign-in of its own in progress: a response for another state is not its answer.
    await harness.startLogin();
    const crafted = `${APP}/?code=attacker-code&state=attacker-state&iss=${encodeURIComponent(harness.op.issuer)}`;
    const auth = await harness.load(crafted);
    expect(auth.state().status).toBe('authenticated');
    expect(auth.user()?.sub).toBe('alice');
    expect(harness.storage.getItem(sessionKey(harness))).not.toBeNull();
    expect(harness.op.requestsTo('/token').length).toBe(1);
    expect(harness.browser.replacedUrls.at(-1)).toBe('/');
  });

  it('reports a refused code exchange as a token error', async () => {
    await harness.load();
    const authorize = await harness.startLogin();
    const auth = await harness.load(harness.callbackUrl(authorize, { code: 'stolen-code' }));
    expect(auth.state().error?.code).toBe('token_error');
    expect(auth.state().error?.details.oauthError).toBe('invalid_grant');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
  });

  it('checks the discovery issuer against the authority', async () => {
    harness.op.metadata['issuer'] = 'https://impostor.example.com';
    await harness.load();
    await expectAsync(harness.auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'issuer_mismatch' }));
    expect(harness.browser.navigations.length).toBe(0);
  });
});

describe('AuthService session restore', () => {
  it('restores a stored, valid session on reload with no request to the OP', async () => {
    const harness = await AuthHarness.create();
    await harness.signIn();
    const requestsBefore = harness.op.requests.length;
    const auth = await harness.load(`${APP}/orders`);
    expect(auth.state().status).toBe('authenticated');
    expect(auth.user()?.name).toBe('Alice Example');
    expect(await auth.getAccessToken()).toBe('at-1');
    expect(harness.op.requests.length).toBe(requestsBefore);
  });

  it('caches discovery so that a sign-in after reload needs no discovery request', async () => {
    const harness = await AuthHarness.create();
    await harness.signIn();
    await harness.load();
    await harness.startLogin();
    expect(harness.op.requestsTo('/.well-known/openid-configuration').length).toBe(1);
  });

  it('discards a corrupt or foreign stored session without crashing', async () => {
    const harness = await AuthHarness.create();
    harness.storage.setItem(sessionKey(harness), '{"format":1,"owner":"spa@https://op.example.com","session":{"accessToken":');
    let auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
    // A well-formed session of another app or client under our key: not ours, not used.
    const other = await AuthHarness.create();
    await other.signIn();
    const entry = JSON.parse(other.storage.getItem(sessionKey(other))!) as Record<string, unknown>;
    harness.storage.setItem(sessionKey(harness), JSON.stringify({ ...entry, owner: 'other@https://op.example.com' }));
    auth = await harness.load();
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
  });

  it('rejects getAccessToken() with no_session when signed out', async () => {
    const harness = await AuthHarness.create();
    const auth = await harness.load();
    await expectAsync(auth.getAccessToken()).toBeRejectedWith(jasmine.objectContaining({ code: 'no_session' }));
  });
});

describe('AuthService userinfo', () => {
  it('merges userinfo claims when loadUserInfo is on', async () => {
    const harness = await AuthHarness.create({ loadUserInfo: true });
    const auth = await harness.signIn();
    expect(auth.user()?.email).toBe('alice@example.com');
  });

  it('discards userinfo claims about another subject and reports it', async () => {
    const harness = await AuthHarness.create({ loadUserInfo: true });
    harness.op.handlers['/userinfo'] = () => harness.op.json({ sub: 'mallory', email: 'mallory@example.com' });
    const auth = await harness.signIn();
    expect(auth.state().status).toBe('authenticated');
    expect(auth.user()?.email).toBeUndefined();
    const error = harness.events.find((event) => event.type === 'error');
    expect(error?.type === 'error' && error.error.code).toBe('userinfo_sub_mismatch');
  });
});

describe('AuthService logout', () => {
  it('revokes the refresh token, clears the session and redirects to end-session', async () => {
    const harness = await AuthHarness.create({ postLogoutRedirectUrl: '/bye' });
    const auth = await harness.signIn();
    const result = await auth.logout();
    expect(result).toEqual({ outcome: 'redirected', refreshTokenRevoked: true, error: null });
    const revoke = harness.op.requestsTo('/revoke')[0];
    const form = new URLSearchParams(String(revoke.body));
    expect(form.get('token')).toBe('rt-1');
    expect(form.get('token_type_hint')).toBe('refresh_token');
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
    const endSession = new URL(harness.browser.navigations.at(-1)!);
    expect(endSession.origin + endSession.pathname).toBe(`${harness.op.issuer}/logout`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/bye`);
    expect(endSession.searchParams.get('state')).toBeTruthy();
    // Back from the OP: the logout state is checked and removed from the URL.
    const back = await harness.load(`${APP}/bye?state=${endSession.searchParams.get('state')}`);
    expect(back.state().status).toBe('unauthenticated');
    expect(harness.browser.replacedUrls.at(-1)).toBe('/bye');
  });

  it('does not let a renewal asked for during the revocation sign the user back in', async () => {
    const harness = await AuthHarness.create();
    const auth = await harness.signIn();
    let releaseRevocation!: () => void;
    const revocationArrived = new Promise<void>((arrived) => {
      harness.op.handlers['/revoke'] = () => {
        arrived();
        return new Promise((resolve) => (releaseRevocation = () => resolve({ status: 200, body: '' })));
      };
    });
    const loggedOut = auth.logout();
    await revocationArrived;
    // The session ends before the refresh token goes to the OP: nothing is left to renew.
    const renewal = await auth.renew().then(
      () => 'renewed',
      (error: unknown) => (error as AuthError).code,
    );
    releaseRevocation();
    await loggedOut;
    expect(renewal).toBe('no_session');
    expect(harness.refreshGrants().length).toBe(0);
    expect(auth.state().status).toBe('unauthenticated');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
    expect(harness.events.some((event) => event.type === 'token_renewed')).toBeFalse();
  });

  it('refuses a postLogoutRedirectUrl override that is not of this app, before doing anything', async () => {
    const harness = await AuthHarness.create();
    const auth = await harness.signIn();
    const requests = harness.op.requests.length;
    for (const postLogoutRedirectUrl of ['https://evil.example.com/', '//evil.example.com/', 'javascript:alert(1)', 'http://app.example.com/', 'http://[']) {
      const refused = await auth.logout({ postLogoutRedirectUrl }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).withContext(postLogoutRedirectUrl).toEqual(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'postLogoutRedirectUrl' } }));
      expect((refused as Error).message).not.toContain('evil');
    }
    // Nothing was done: still signed in, no revocation, no redirect.
    expect(auth.state().status).toBe('authenticated');
    expect(harness.op.requests.length).toBe(requests);
    expect(harness.browser.navigations.length).toBe(1);
    const result = await auth.logout({ postLogoutRedirectUrl: '/signed-out' });
    expect(result.outcome).toBe('redirected');
    expect(new URL(harness.browser.navigations.at(-1)!).searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/signed-out`);
  });

  it('signs out locally only when asked, without revocation or redirect', async () => {
    const harness = await AuthHarness.create();
    const auth = await harness.signIn();
    const navigations = harness.browser.navigations.length;
    const result = await auth.logout({ localOnly: true });
    expect(result).toEqual({ outcome: 'local', reason: 'local_only', refreshTokenRevoked: false, error: null });
    expect(harness.op.requestsTo('/revoke').length).toBe(0);
    expect(harness.browser.navigations.length).toBe(navigations);
    expect(auth.state().status).toBe('unauthenticated');
  });

  it('says so when the OP has no end-session endpoint', async () => {
    const harness = await AuthHarness.create();
    delete harness.op.metadata['end_session_endpoint'];
    const auth = await harness.signIn();
    const result = await auth.logout();
    expect(result.outcome).toBe('local');
    expect(result.reason).toBe('no_end_session_endpoint');
    expect(result.refreshTokenRevoked).toBeTrue();
  });

  it('still clears the session when revocation fails, and reports it', async () => {
    const harness = await AuthHarness.create();
    harness.op.handlers['/revoke'] = () => harness.op.oauthError('server_error', 500);
    const auth = await harness.signIn();
    const result = await auth.logout();
    expect(result.outcome).toBe('redirected');
    expect(result.refreshTokenRevoked).toBeFalse();
    expect(result.error?.code).toBe('network_error');
    expect(harness.storage.getItem(sessionKey(harness))).toBeNull();
  });
});

describe('AuthService on the server', () => {
  it('touches no storage and no network, and refuses login', async () => {
    const op = await FakeOp.create();
    const touched: string[] = [];
    const spyStorage: TokenStorage = {
      getItem: (key) => (touched.push(key), null),
      setItem: (key) => void touched.push(key),
      removeItem: (key) => void touched.push(key),
    };
    TestBed.resetTestingModule();
    TestBed.configureTestingModule({
      providers: [
        { provide: PLATFORM_ID, useValue: 'server' },
        provideHttpClient(),
        { provide: HttpBackend, useValue: op },
        provideAuth({ authority: op.issuer, clientId: op.clientId, storage: spyStorage }),
      ],
    });
    const auth = TestBed.inject(AuthService);
    await auth.initialize();
    expect(auth.state().status).toBe('unknown');
    await expectAsync(auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'not_in_browser' }));
    expect(touched).toEqual([]);
    expect(op.requests.length).toBe(0);
  });
});
