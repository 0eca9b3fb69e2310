import { APP, AuthHarness } from '../../testing/harness';
import { AuthConfig, resolveAuthConfig } from '../core/config';
import { resolveLogout } from '../core/provider-options';
import { AuthError } from '../core/errors';
import { asProductionBuild } from '../../testing/production-build';

const logoutKey = (harness: AuthHarness) => `ngx-oidc-session:spa@${harness.op.issuer}/:sign-out`;

/** The query of the URL logout() sent the browser to, as [name, value] pairs in order. */
function sentParams(harness: AuthHarness): [string, string][] {
  return [...new URL(harness.browser.navigations.at(-1)!).searchParams];
}

/**
 * The refusal of this config.logout by its checks: resolveAuthConfig's (the shape, dev mode only),
 * then resolveLogout, which the protocol chunk runs at logout in every build, and at start in
 * dev mode (see the harness specs below).
 */
function configRejection(logout: unknown, devMode = true): AuthError {
  const global = globalThis as unknown as { ngDevMode: unknown };
  const saved = global.ngDevMode;
  global.ngDevMode = devMode ? saved : false;
  try {
    resolveLogout(resolveAuthConfig({ authority: 'https://op.example.com', clientId: 'spa', logout } as AuthConfig, APP).logout);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    return error as AuthError;
  } finally {
    global.ngDevMode = saved;
  }
  throw new Error(`expected logout ${JSON.stringify(logout)} to be refused`);
}

describe('config.logout', () => {
  it('defaults to RP-Initiated Logout at the discovered endpoint', () => {
    const config = resolveAuthConfig({ authority: 'https://op.example.com', clientId: 'spa' }, APP);
    expect(resolveLogout(config.logout)).toEqual({ dialect: 'rp-initiated', endpoint: null });
    const logout = { dialect: 'cognito', endpoint: 'https://auth.example.com/logout' } as const;
    const cognito = resolveAuthConfig({ authority: 'https://op.example.com', clientId: 'spa', logout }, APP);
    // The resolved config carries the value as configured; logout resolves it.
    expect(cognito.logout).toEqual(logout);
    expect(resolveLogout(cognito.logout)).toEqual({ dialect: 'cognito', endpoint: 'https://auth.example.com/logout' });
  });

  it('refuses an unknown dialect, in production too (the logout would carry the wrong parameters)', () => {
    for (const devMode of [true, false]) {
      for (const dialect of ['auth0', 'Cognito', 'rp_initiated', 42]) {
        const error = configRejection({ dialect }, devMode);
        expect(error.code).toBe('config_invalid');
        expect(error.details.configKey).withContext(String(dialect)).toBe('logout.dialect');
      }
    }
  });

  it('refuses an endpoint that is not an absolute https URL without query or fragment, in production too', () => {
    const bad = ['/v2/logout', '//op.example.com/logout', 'http://op.example.com/logout', 'javascript:alert(1)', 'https://op.example.com/logout?federated', 'https://op.example.com/logout?', 'https://op.example.com/logout#x', 'https://op.example.com/logout#', ''];
    for (const devMode of [true, false]) {
      for (const endpoint of bad) {
        expect(configRejection({ endpoint }, devMode).details.configKey).withContext(`${endpoint} (dev mode ${devMode})`).toBe('logout.endpoint');
      }
    }
    expect(configRejection({ endpoint: 'http://op.example.com/logout' }).message).toContain('https');
    // Plain http only on loopback, as for the authority.
    expect(resolveLogout(resolveAuthConfig({ authority: 'http://localhost:4400', clientId: 'spa', logout: { endpoint: 'http://localhost:4400/logout' } }, APP).logout).endpoint).toBe('http://localhost:4400/logout');
  });

  it('requires the endpoint with the auth0-v2 dialect: discovery never names /v2/logout', () => {
    for (const devMode of [true, false]) expect(configRejection({ dialect: 'auth0-v2' }, devMode).details.configKey).toBe('logout.endpoint');
    expect(configRejection({ dialect: 'auth0-v2' }).message).toContain('/v2/logout');
  });

  it('refuses a bad value at start in dev mode, with its message, before anything goes to the OP', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'auth0-v2' } });
    await expectAsync(harness.load()).toBeRejectedWith(
      jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'logout.endpoint' }, message: jasmine.stringContaining('/v2/logout') }),
    );
    expect(harness.op.requests).toEqual([]);
    expect(harness.browser.navigations).toEqual([]);
  });

  it('refuses a value that is not an object by name, in production too (not taken as the default dialect, no TypeError)', () => {
    for (const logout of ['cognito', null, 42, ['cognito']]) {
      const error = configRejection(logout, false);
      expect(error.code).withContext(JSON.stringify(logout)).toBe('config_invalid');
      expect(error.details.configKey).withContext(JSON.stringify(logout)).toBe('logout');
    }
  });

  it('checks the shape in dev mode', () => {
    expect(configRejection('cognito').details.configKey).toBe('logout');
    expect(configRejection({ endpoint: 42 }).details.configKey).toBe('logout.endpoint');
  });
});

describe('logout() per dialect', () => {
  it('rp-initiated (default): client_id, id_token_hint, post_logout_redirect_uri and state at the discovered endpoint; the state is kept for the return', async () => {
    const harness = await AuthHarness.create();
    const auth = await harness.signIn();
    const result = await auth.logout();
    expect(result).toEqual({ outcome: 'redirected', refreshTokenRevoked: true, error: null });
    const sent = new URL(harness.browser.navigations.at(-1)!);
    expect(sent.origin + sent.pathname).toBe(`${harness.op.issuer}/logout`);
    expect(sentParams(harness).map(([name]) => name)).toEqual(['client_id', 'id_token_hint', 'post_logout_redirect_uri', 'state']);
    expect(harness.attempts.getItem(logoutKey(harness))).toBe(sent.searchParams.get('state'));
  });

  it('auth0-v2: exactly client_id and returnTo at the configured endpoint, no token, no state kept', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'auth0-v2', endpoint: 'https://op.example.com/v2/logout' } });
    delete harness.op.metadata['end_session_endpoint'];
    const auth = await harness.signIn();
    const result = await auth.logout({ postLogoutRedirectUrl: '/signed-out' });
    expect(result).toEqual({ outcome: 'redirected', refreshTokenRevoked: true, error: null });
    const sent = new URL(harness.browser.navigations.at(-1)!);
    expect(sent.origin + sent.pathname).toBe('https://op.example.com/v2/logout');
    expect(sentParams(harness)).toEqual([
      ['client_id', 'spa'],
      ['returnTo', `${APP}/signed-out`],
    ]);
    expect(harness.attempts.getItem(logoutKey(harness))).toBeNull();
  });

  it('cognito: exactly client_id and logout_uri at the discovered endpoint (Cognito advertises its /logout), no token, no state kept', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'cognito' } });
    const warn = spyOn(console, 'warn');
    const auth = await harness.signIn();
    await auth.logout();
    const sent = new URL(harness.browser.navigations.at(-1)!);
    expect(sent.origin + sent.pathname).toBe(`${harness.op.issuer}/logout`);
    expect(sentParams(harness)).toEqual([
      ['client_id', 'spa'],
      ['logout_uri', `${APP}/`],
    ]);
    expect(harness.attempts.getItem(logoutKey(harness))).toBeNull();
    // Cognito's discovery names its own /logout: no advice to use RP-initiated logout there.
    expect(warn).not.toHaveBeenCalled();
  });

  it('warns in dev mode when auth0-v2 is used with an OP whose discovery advertises RP-initiated logout', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'auth0-v2', endpoint: 'https://op.example.com/v2/logout' } });
    const warn = spyOn(console, 'warn');
    const auth = await harness.signIn();
    await auth.logout();
    expect(warn).toHaveBeenCalledOnceWith(jasmine.stringContaining('"rp-initiated"'));
    // The dialect the app chose still applies.
    expect(sentParams(harness).map(([name]) => name)).toEqual(['client_id', 'returnTo']);
  });

  it('a return without state from a non-RP dialect is harmless: signed out, no request to the OP, nothing replaced, no error', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'cognito' } });
    const auth = await harness.signIn();
    await auth.logout();
    const returnTo = new URL(harness.browser.navigations.at(-1)!).searchParams.get('logout_uri')!;
    const requests = harness.op.requests.length;
    const replaced = harness.browser.replacedUrls.length;
    harness.events.length = 0;
    const back = await harness.load(returnTo);
    expect(back.state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
    expect(harness.op.requests.length).toBe(requests);
    expect(harness.browser.replacedUrls.length).toBe(replaced);
    expect(harness.events).toEqual([]);
  });

  describe('the origin pin', () => {
    it('refuses an endpoint on another origin than the authorization endpoint: no navigation, local logout, config_invalid', async () => {
      const harness = await AuthHarness.create({ logout: { dialect: 'auth0-v2', endpoint: 'https://evil.example.com/v2/logout' } });
      delete harness.op.metadata['end_session_endpoint'];
      const auth = await harness.signIn();
      const navigations = harness.browser.navigations.length;
      const result = await auth.logout();
      expect(result.outcome).toBe('local');
      expect(result.reason).toBe('end_session_endpoint_refused');
      expect(result.refreshTokenRevoked).toBeTrue();
      expect(result.error).toEqual(jasmine.objectContaining({ code: 'config_invalid', details: { configKey: 'logout.endpoint' } }));
      expect(result.error!.message).not.toContain('eyJ'); // no token in the message
      expect(harness.browser.navigations.length).toBe(navigations);
      expect(auth.state().status).toBe('unauthenticated');
      expect(harness.attempts.getItem(logoutKey(harness))).toBeNull();
    });

    it('refuses a discovered end_session_endpoint on another origin too (the ID token would go there)', async () => {
      const harness = await AuthHarness.create();
      harness.op.metadata['end_session_endpoint'] = 'https://logout.example.net/end';
      const auth = await harness.signIn();
      const navigations = harness.browser.navigations.length;
      const result = await auth.logout();
      expect(result).toEqual(jasmine.objectContaining({ outcome: 'local', reason: 'end_session_endpoint_refused' }));
      expect(result.error?.code).toBe('config_invalid');
      // Named as the discovered endpoint: the app never set logout.endpoint.
      expect(result.error?.details).toEqual({ configKey: 'end_session_endpoint' });
      expect(result.error?.message).toContain("the OP's discovered end_session_endpoint is on https://logout.example.net");
      expect(harness.browser.navigations.length).toBe(navigations);
    });

    it('compares origins, not prefixes: a look-alike host or another port is refused', async () => {
      for (const endpoint of ['https://op.example.com.evil.example/logout', 'https://op.example.com:8443/logout']) {
        const harness = await AuthHarness.create({ logout: { dialect: 'cognito', endpoint } });
        const auth = await harness.signIn();
        const result = await auth.logout();
        expect(result.reason).withContext(endpoint).toBe('end_session_endpoint_refused');
      }
    });

    it('reports the refusal over a revocation failure: it is what the app must fix', async () => {
      const harness = await AuthHarness.create({ logout: { dialect: 'cognito', endpoint: 'https://evil.example.com/logout' } });
      harness.op.handlers['/revoke'] = () => harness.op.oauthError('server_error', 500);
      const auth = await harness.signIn();
      const result = await auth.logout();
      expect(result.refreshTokenRevoked).toBeFalse();
      expect(result.error?.code).toBe('config_invalid');
    });
  });
});

describe('logout() in a production build (ngDevMode false): config.logout is checked at logout', () => {
  asProductionBuild();

  // Each endpoint is on the OP's origin, so that the origin pin alone would let it through.
  const refused: [string, unknown, string][] = [
    ['an unknown dialect', { dialect: 'auth0' }, 'logout.dialect'],
    ['auth0-v2 without an endpoint', { dialect: 'auth0-v2' }, 'logout.endpoint'],
    ['an endpoint with a query', { dialect: 'cognito', endpoint: 'https://op.example.com/logout?federated' }, 'logout.endpoint'],
    ['an endpoint with a fragment', { endpoint: 'https://op.example.com/logout#x' }, 'logout.endpoint'],
    // Not an object: a string would be taken as the default dialect, null would throw a TypeError.
    ['a string for the dialect', 'cognito', 'logout'],
    ['null', null, 'logout'],
  ];
  for (const [what, logout, key] of refused) {
    it(`starts with ${what}, and refuses it at logout: no navigation, a local logout, config_invalid naming ${key}`, async () => {
      const harness = await AuthHarness.create({ logout: logout as AuthConfig['logout'] });
      const auth = await harness.signIn();
      expect(auth.state().status).toBe('authenticated');
      const navigations = harness.browser.navigations.length;
      const result = await auth.logout();
      expect(result).toEqual({
        outcome: 'local',
        reason: 'end_session_endpoint_refused',
        refreshTokenRevoked: true,
        error: jasmine.objectContaining({ code: 'config_invalid', details: { configKey: key } }),
      });
      expect(result.error!.message).toBe('ngx-oidc-session: config_invalid');
      expect(harness.browser.navigations.length).toBe(navigations);
      expect(auth.state().status).toBe('unauthenticated');
      expect(harness.attempts.getItem(logoutKey(harness))).toBeNull();
    });
  }

  it('sends a valid dialect as in dev mode', async () => {
    const harness = await AuthHarness.create({ logout: { dialect: 'cognito', endpoint: 'https://op.example.com/logout' } });
    const auth = await harness.signIn();
    expect((await auth.logout()).outcome).toBe('redirected');
    expect(sentParams(harness).map(([name]) => name)).toEqual(['client_id', 'logout_uri']);
  });
});

describe('discovered endpoints the browser is sent to', () => {
  // Each has an opaque origin ("null") or is plain http off loopback; two javascript: URLs
  // would pass an origin comparison ('null' === 'null').
  const UNSAFE: [string, string][] = [
    ['authorization_endpoint', 'javascript:void 0'],
    ['end_session_endpoint', 'javascript:alert(document.domain)//'],
    ['check_session_iframe', 'data:text/html,x'],
    ['authorization_endpoint', 'http://op.example.com/authorize'],
    ['end_session_endpoint', 'not a url'],
  ];
  for (const devMode of [true, false]) {
    describe(devMode ? 'in dev mode' : 'in a production build', () => {
      if (!devMode) asProductionBuild();

      for (const [name, value] of UNSAFE) {
        it(`refuses a discovery whose ${name} is "${value}": discovery_failed, nothing navigated`, async () => {
          const harness = await AuthHarness.create();
          harness.op.metadata[name] = value;
          if (name === 'end_session_endpoint') harness.op.metadata['authorization_endpoint'] = 'javascript:void 0';
          const auth = await harness.load();
          await expectAsync(auth.login()).toBeRejectedWith(jasmine.objectContaining({ code: 'discovery_failed' }));
          expect(harness.browser.navigations).toEqual([]);
        });
      }
    });
  }

  it('says which endpoint in dev mode', async () => {
    const harness = await AuthHarness.create();
    harness.op.metadata['end_session_endpoint'] = 'javascript:alert(1)';
    const auth = await harness.load();
    await expectAsync(auth.login()).toBeRejectedWith(jasmine.objectContaining({ message: jasmine.stringContaining('end_session_endpoint') }));
  });

  it('a logout with a javascript: end_session_endpoint in a fresh discovery is local, the browser stays', async () => {
    const harness = await AuthHarness.create();
    await harness.signIn();
    // The next page finds no cached discovery, and the OP now serves a poisoned one.
    harness.storage.removeItem(`ngx-oidc-session:spa@${harness.op.issuer}/:discovery`);
    harness.op.metadata['authorization_endpoint'] = 'javascript:void 0';
    harness.op.metadata['end_session_endpoint'] = 'javascript:alert(document.domain)//';
    const again = await harness.load();
    expect(again.state().status).toBe('authenticated');
    const navigations = harness.browser.navigations.length;
    const result = await again.logout();
    expect(result.outcome).toBe('local');
    expect(result.error?.code).toBe('discovery_failed');
    expect(harness.browser.navigations.length).toBe(navigations);
  });

  it('fetches anew over a cached discovery with such an endpoint', async () => {
    const harness = await AuthHarness.create();
    await harness.signIn();
    const key = `ngx-oidc-session:spa@${harness.op.issuer}/:discovery`;
    const entry = JSON.parse(harness.storage.getItem(key)!) as { metadata: Record<string, unknown> };
    entry.metadata['end_session_endpoint'] = 'javascript:alert(document.domain)//';
    harness.storage.setItem(key, JSON.stringify(entry));
    const discoveries = harness.op.requestsTo('/.well-known/openid-configuration').length;
    const auth = await harness.load();
    expect((await auth.logout()).outcome).toBe('redirected');
    expect(harness.op.requestsTo('/.well-known/openid-configuration').length).toBe(discoveries + 1);
    expect(new URL(harness.browser.navigations.at(-1)!).origin).toBe(harness.op.issuer);
  });
});
