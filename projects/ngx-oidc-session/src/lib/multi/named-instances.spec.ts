import { HttpClient, HttpContext } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { EnvironmentInjector, createEnvironmentInjector, importProvidersFrom } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { ActivatedRouteSnapshot, RouterStateSnapshot } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { AuthHarness } from '../../testing/harness';
import { AuthService } from '../auth.service';
import { AuthEvent } from '../core/auth-state';
import { AUTH_CONFIG, AuthConfig } from '../core/config';
import { AuthError } from '../core/errors';
import { AUTH_INSTANCE_ROUTER, AUTH_TOKEN } from '../http/auth-interceptor';
import { AUTH_CLOCK, systemClock } from '../platform/clock';
import { OP_FETCH, OpFetch } from '../platform/op-fetch';
import { AuthFeature, AuthModule, provideAuth, withClock, withSilentSignIn } from '../provide-auth';
import { withPopupSignIn } from '../popup/popup-sign-in';
import { POPUP_SIGN_IN } from '../popup/popup-token';
import { DPOP_PROOFS } from '../dpop/dpop-proofs';
import { withDPoP } from '../../../dpop/src/with-dpop';
import { START_UP_SIGN_IN } from '../state/start-up-sign-in';
import { authGuardFor } from '../router/auth.guard';
import { TabCoordinator } from '../tabs/tab-coordinator';
import { AuthInstances, injectAuth, withName } from './named-instances';

const DEFAULT_NAMESPACE = 'ngx-oidc-session:spa@https://op.example.com/';
const PARTNER_NAMESPACE = `${DEFAULT_NAMESPACE}#partner`;

/**
 * A harness whose app has the default instance and, beside it, the named ones given; each
 * named one has a redirect URL of its own (`/?op=<name>`) unless its config gives one, and
 * the features given for it (its own clock by default).
 */
async function withInstances(
  defaults: Partial<AuthConfig>,
  named: Record<string, Partial<AuthConfig>>,
  featuresOf: (harness: AuthHarness, name: string) => AuthFeature[] = (harness) => [withClock(harness.clock)],
): Promise<AuthHarness> {
  const harness = await AuthHarness.create(defaults);
  harness.providers = Object.entries(named).map(([name, config]) =>
    provideAuth(
      { authority: harness.op.issuer, clientId: harness.op.clientId, storage: harness.storage, redirectUrl: `/?op=${name}`, ...config },
      withName(name),
      ...featuresOf(harness, name),
    ),
  );
  return harness;
}

/**
 * A clock feature that also makes the instance's OP another one than the harness's: `issuer`,
 * whose discovery document names the endpoints given (for the interceptor's specs).
 */
function secondOp(harness: AuthHarness, issuer: string, endpoints: Record<string, string>): AuthFeature {
  const metadata = { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, ...endpoints };
  const fetchSecondOp: OpFetch = (url) =>
    Promise.resolve(
      new URL(url).href === `${issuer}/.well-known/openid-configuration`
        ? new Response(JSON.stringify(metadata), { headers: { 'content-type': 'application/json' } })
        : new Response('not found', { status: 404 }),
    );
  const clock = withClock(harness.clock);
  return { ...clock, ɵproviders: [...clock.ɵproviders, { provide: OP_FETCH, useValue: fetchSecondOp }] };
}

/** The Authorization header with which a GET of `url` reached the API (null: none). */
async function authorizationHeaderOf(harness: AuthHarness, url: string, context?: HttpContext): Promise<string | null> {
  const arrived = firstValueFrom(harness.apiRequests);
  const response = firstValueFrom(TestBed.inject(HttpClient).get(url, { context }));
  const request = await arrived;
  TestBed.inject(HttpTestingController)
    .match(() => true)
    .forEach((pending) => pending.flush({ ok: true }));
  await response;
  return request.headers.get('Authorization');
}

async function loadError(harness: AuthHarness): Promise<AuthError | null> {
  return harness.load().then(
    () => null,
    (thrown: AuthError) => thrown,
  );
}

const named = (name: string): AuthService => TestBed.runInInjectionContext(() => injectAuth(name));

/** A page load that waits for every instance's initialize(), the named ones' too. */
async function load(harness: AuthHarness, href?: string, names = ['partner']): Promise<void> {
  await harness.load(href);
  await Promise.all(names.map((name) => named(name).initialize()));
}

/** Sign-in of the named instance: login, then the page loads again with the OP's response. */
async function signInNamed(harness: AuthHarness, name: string, names = [name]): Promise<void> {
  await named(name).login();
  const authorize = new URL(harness.browser.navigations.at(-1)!);
  harness.op.nonce = authorize.searchParams.get('nonce') ?? undefined;
  await load(harness, harness.callbackUrl(authorize), names);
}

function thrownBy(action: () => unknown): AuthError {
  try {
    action();
  } catch (error) {
    return error as AuthError;
  }
  throw new Error('nothing was thrown');
}

describe('Named auth instances', () => {
  describe('two instances of the same OP and client', () => {
    let harness: AuthHarness;
    beforeEach(async () => {
      harness = await withInstances({}, { partner: {} });
      await harness.signIn();
      await signInNamed(harness, 'partner');
    });

    it('keep their sessions under their own storage keys, locks and tab channel', () => {
      expect(harness.auth.isAuthenticated()).toBeTrue();
      expect(named('partner').isAuthenticated()).toBeTrue();
      expect(harness.storage.getItem(`${DEFAULT_NAMESPACE}:session`)).toContain('"at-1"');
      expect(harness.storage.getItem(`${PARTNER_NAMESPACE}:session`)).toContain('"at-2"');
      const defaultTabs = TestBed.inject(TabCoordinator);
      const partnerTabs = TestBed.runInInjectionContext(() => named('partner')['tabs']);
      expect(partnerTabs).not.toBe(defaultTabs);
      expect([defaultTabs['lockName'], defaultTabs['holderPrefix']]).toEqual([`${DEFAULT_NAMESPACE}:renew`, `${DEFAULT_NAMESPACE}:holder:`]);
      expect([partnerTabs['lockName'], partnerTabs['holderPrefix']]).toEqual([`${PARTNER_NAMESPACE}:renew`, `${PARTNER_NAMESPACE}:holder:`]);
    });

    it('talk to other tabs on channels of their own; the default one keeps the name of earlier versions (old and new tabs talk during a deploy)', async () => {
      harness.browser.windowRef = window; // a real window: BroadcastChannel
      await load(harness);
      const partnerTabs = TestBed.runInInjectionContext(() => named('partner')['tabs']);
      expect(TestBed.inject(TabCoordinator)['channel']?.name).toBe('ngx-oidc-session:spa@https://op.example.com');
      expect(partnerTabs['channel']?.name).toBe(PARTNER_NAMESPACE);
    });

    it('sign out one at a time: the other stays signed in, with its own events', async () => {
      const partnerEvents: AuthEvent[] = [];
      named('partner').events$.subscribe((event) => partnerEvents.push(event));
      await harness.auth.logout({ localOnly: true });
      expect(harness.auth.isAuthenticated()).toBeFalse();
      expect(named('partner').isAuthenticated()).toBeTrue();
      expect(await named('partner').getAccessToken()).toBe('at-2');
      expect(partnerEvents).toEqual([]);
      expect(harness.storage.getItem(`${PARTNER_NAMESPACE}:session`)).not.toBeNull();
      // A reload restores the partner's session only.
      await load(harness);
      expect(harness.auth.isAuthenticated()).toBeFalse();
      expect(named('partner').isAuthenticated()).toBeTrue();
    });

    it('renew independently: a renewal of one leaves the other token set alone', async () => {
      await named('partner').renew();
      expect(await named('partner').getAccessToken()).toBe('at-3');
      expect(await harness.auth.getAccessToken()).toBe('at-1');
      expect(harness.refreshGrants().map((form) => form.get('refresh_token'))).toEqual(['rt-2']);
    });
  });

  describe('callbacks on a shared redirect URL', () => {
    it('go to the named instance that started the sign-in; the default one neither refuses nor cleans it first', async () => {
      const harness = await withInstances({}, { partner: {} });
      await harness.load();
      await signInNamed(harness, 'partner');
      expect(named('partner').isAuthenticated()).toBeTrue();
      expect(harness.auth.state().status).toBe('unauthenticated');
      expect(harness.auth.state().error).toBeNull();
      expect(harness.events.filter((event) => event.type === 'error')).toEqual([]);
      expect(harness.browser.href).toBe('https://app.example.com/');
    });

    it('go to the default instance; the named one leaves them alone', async () => {
      const harness = await withInstances({}, { partner: {} });
      await harness.signIn();
      await named('partner').initialize();
      expect(harness.auth.isAuthenticated()).toBeTrue();
      expect(named('partner').state().status).toBe('unauthenticated');
      expect(named('partner').state().error).toBeNull();
    });

    it('go to the right one of two named instances, whichever initializes first', async () => {
      const harness = await withInstances({}, { first: {}, second: {} });
      await harness.load();
      await signInNamed(harness, 'second', ['first', 'second']);
      expect(named('second').isAuthenticated()).toBeTrue();
      expect(named('first').state()).toEqual(jasmine.objectContaining({ status: 'unauthenticated', error: null }));
      await signInNamed(harness, 'first', ['first', 'second']);
      expect(named('first').isAuthenticated()).toBeTrue();
      expect(named('second').isAuthenticated()).toBeTrue();
      expect(harness.auth.state().error).toBeNull();
    });

    it('hand a logout response to the instance that logged out', async () => {
      const harness = await withInstances({}, { partner: {} });
      await harness.signIn();
      await signInNamed(harness, 'partner');
      const result = await named('partner').logout();
      expect(result.outcome).toBe('redirected');
      const endSession = new URL(harness.browser.navigations.at(-1)!);
      const state = endSession.searchParams.get('state')!;
      expect(harness.attempts.getItem(`${PARTNER_NAMESPACE}:sign-out`)).toBe(state);
      await load(harness, `https://app.example.com/?state=${state}`);
      expect(harness.attempts.getItem(`${PARTNER_NAMESPACE}:sign-out`)).toBeNull();
      expect(harness.browser.href).toBe('https://app.example.com/');
      expect(harness.auth.isAuthenticated()).toBeTrue();
      expect(named('partner').isAuthenticated()).toBeFalse();
    });

    it("log out with each instance's own logout dialect: the named one's cognito logout keeps no state, the default's RP-initiated one does", async () => {
      const harness = await withInstances({}, { partner: { logout: { dialect: 'cognito' } } });
      await harness.signIn();
      await signInNamed(harness, 'partner');
      await named('partner').logout();
      const partnerLogout = new URL(harness.browser.navigations.at(-1)!);
      expect([...partnerLogout.searchParams.keys()]).toEqual(['client_id', 'logout_uri']);
      expect(harness.attempts.getItem(`${PARTNER_NAMESPACE}:sign-out`)).toBeNull();
      expect(harness.auth.isAuthenticated()).toBeTrue();
      await harness.auth.logout();
      const defaultLogout = new URL(harness.browser.navigations.at(-1)!);
      expect([...defaultLogout.searchParams.keys()]).toEqual(['client_id', 'id_token_hint', 'post_logout_redirect_uri', 'state']);
      expect(harness.attempts.getItem(`${DEFAULT_NAMESPACE}:sign-out`)).toBe(defaultLogout.searchParams.get('state'));
    });
  });

  describe('the interceptor', () => {
    let harness: AuthHarness;
    beforeEach(async () => {
      harness = await withInstances(
        { secureApis: ['https://api.example.com', 'https://op2.example.com/api'] },
        { partner: { secureApis: ['https://partner-api.example.com/v1'] }, other: { authority: 'https://op2.example.com', secureApis: ['/other-api'] } },
        // The "other" instance's OP: its token endpoint lies outside its issuer's origin, under the default instance's secureApis.
        (harness, name) => (name === 'other' ? [secondOp(harness, 'https://op2.example.com', { token_endpoint: 'https://api.example.com/op2/token' })] : [withClock(harness.clock)]),
      );
      harness.interceptor = 'functional';
      await harness.signIn();
      await signInNamed(harness, 'partner');
    });

    const authorizationSentTo = (url: string) => authorizationHeaderOf(harness, url);

    it("sends each instance's token to its own secureApis only", async () => {
      expect(await authorizationSentTo('https://api.example.com/orders')).toBe('Bearer at-1');
      expect(await authorizationSentTo('https://partner-api.example.com/v1/orders')).toBe('Bearer at-2');
      expect(await authorizationSentTo('https://partner-api.example.com/v2/orders')).toBeNull();
      expect(await authorizationSentTo('https://elsewhere.example.com/orders')).toBeNull();
      // The "other" instance is signed out: its API gets no token of anyone.
      expect(await authorizationSentTo('/other-api/x')).toBeNull();
    });

    it("never sends a token to another instance's OP, even under a secureApis entry", async () => {
      expect(await authorizationSentTo('https://op2.example.com/api/x')).toBeNull();
    });

    it('is provided only when there are named instances', () => {
      expect(TestBed.inject(AUTH_INSTANCE_ROUTER, null)).not.toBeNull();
    });

    it("learns another instance's OP endpoints before a token leaves, when they are not known yet (a new tab, storage 'memory')", async () => {
      // This page has never discovered the "other" OP: nothing of it is cached.
      expect(harness.storage.getItem(`ngx-oidc-session:spa@https://op2.example.com/#other:discovery`)).toBeNull();
      expect(await authorizationSentTo('https://api.example.com/op2/token')).toBeNull();
      // Its own APIs still get the default instance's token.
      expect(await authorizationSentTo('https://api.example.com/orders')).toBe('Bearer at-1');
    });

    it("with AUTH_TOKEN 'attach', gives the app's own origin to the default instance, even when a named one has secureApis there", async () => {
      expect(await authorizationHeaderOf(harness, '/unlisted', new HttpContext().set(AUTH_TOKEN, 'attach'))).toBe('Bearer at-1');
    });
  });

  describe("the interceptor, AUTH_TOKEN 'attach' on an origin of several instances", () => {
    it('attaches no token, and says why in dev mode', async () => {
      const harness = await withInstances(
        {},
        { partner: { secureApis: ['https://shared.example.com/partner'] }, billing: { secureApis: ['https://shared.example.com/billing'] } },
      );
      harness.interceptor = 'functional';
      await load(harness, undefined, ['partner', 'billing']);
      await signInNamed(harness, 'partner', ['partner', 'billing']);
      await signInNamed(harness, 'billing', ['partner', 'billing']);
      const reported = spyOn(console, 'error');
      const sent = (url: string) => authorizationHeaderOf(harness, url, new HttpContext().set(AUTH_TOKEN, 'attach'));
      expect(await sent('https://shared.example.com/partner/x')).toBe('Bearer at-1');
      expect(await sent('https://shared.example.com/elsewhere')).toBeNull();
      expect(reported).toHaveBeenCalledOnceWith(jasmine.stringContaining('instance "partner" and instance "billing"'));
    });
  });

  describe('callback URLs (RFC 9700 4.4.2, one per instance)', () => {
    // One spec per case: each loads an app, and several in one spec outlast Jasmine's 5 s on a loaded machine.
    for (const [defaults, partner, configKey] of [
      [{}, { redirectUrl: '/' }, 'redirectUrl'],
      [{ renew: { silentRenewUrl: '/silent-renew.html' } }, { renew: { silentRenewUrl: '/silent-renew.html' } }, 'renew.silentRenewUrl'],
      [{ renew: { silentRenewUrl: '/silent-renew.html' } }, { redirectUrl: '/silent-renew.html' }, 'redirectUrl'],
    ] as [Partial<AuthConfig>, Partial<AuthConfig>, string][]) {
      it(`refuses two instances that share a redirect or silent-renew URL, naming the instance: ${JSON.stringify(partner)}`, async () => {
        const error = await loadError(await withInstances(defaults, { partner }));
        expect(error?.code).toBe('config_invalid');
        expect(error?.details).toEqual({ configKey, instance: 'partner' });
      });
    }

    it('accepts the same pages with a query of their own', async () => {
      const harness = await withInstances(
        { renew: { silentRenewUrl: '/silent-renew.html' } },
        { partner: { redirectUrl: '/?op=partner', renew: { silentRenewUrl: '/silent-renew.html?op=partner' } } },
      );
      expect(await loadError(harness)).toBeNull();
    });

    it("refuses a mix-up: a response to the partner's request that comes back at the default instance's redirect URL", async () => {
      const harness = await withInstances({}, { partner: {} });
      await load(harness);
      await named('partner').login();
      const authorize = new URL(harness.browser.navigations.at(-1)!);
      expect(authorize.searchParams.get('redirect_uri')).toBe('https://app.example.com/?op=partner');
      // The partner's OP sent the browser to the default instance's OP with the partner's state;
      // that OP sends no iss and answers at the default instance's redirect URL.
      const mixedUp = new URL(harness.callbackUrl(authorize, { iss: null }));
      mixedUp.search = mixedUp.search.replace('op=partner&', '');
      expect(mixedUp.searchParams.has('op')).toBeFalse();
      await load(harness, mixedUp.href);
      expect(harness.op.requestsTo('/token')).toEqual([]);
      expect(named('partner').isAuthenticated()).toBeFalse();
      expect(harness.auth.isAuthenticated()).toBeFalse();
      expect(harness.browser.href).toBe('https://app.example.com/');
      // claimCallback() handed it to no instance: the partner's protocol code never saw it.
      expect(named('partner').state().error).toBeNull();
    });

    it('refuses a response at another URL than its request\'s redirect_uri, before the code goes anywhere', async () => {
      const harness = await AuthHarness.create();
      await harness.load();
      const authorize = await harness.startLogin();
      const elsewhere = new URL(harness.callbackUrl(authorize, { iss: null }));
      elsewhere.searchParams.set('op', 'partner');
      await harness.load(elsewhere.href);
      expect(harness.op.requestsTo('/token')).toEqual([]);
      expect(harness.auth.state().error?.code).toBe('callback_url_mismatch');
    });
  });

  describe('config errors', () => {
    // One spec per pair: each loads an app, and six in one spec outlast Jasmine's 5 s on a loaded machine.
    for (const [first, second, how] of [
      ['https://api.example.com/api', 'https://api.example.com/API/v1', 'case'],
      ['https://api.example.com/api', 'https://api.example.com/%61pi', 'percent-escapes'],
      ['https://api.example.com/api', 'https://api.example.com/api;v=2', ';params'],
      ['https://api.example.com/api', 'https://api.example.com//api', '//'],
      ['https://api.example.com/api', 'https://api.example.com./api', 'a trailing dot in the host'],
      ['http://localhost:4500/api', 'http://127.0.0.1:4500/api/v1', 'loopback names'],
    ]) {
      it(`refuses secureApis that a server may read as overlapping: ${how}`, async () => {
        const error = await loadError(await withInstances({ secureApis: [first] }, { partner: { secureApis: ['https://other.example.com', second] } }));
        expect(error?.code).toBe('config_invalid');
        expect(error?.details).toEqual({ configKey: 'secureApis[1]', instance: 'partner' });
      });
    }

    it('refuses overlapping secureApis of two instances, naming both', async () => {
      const harness = await withInstances({ secureApis: ['https://api.example.com/v1'] }, { partner: { secureApis: ['https://api.example.com'] } });
      const error = await harness.load().then(
        () => null,
        (thrown: AuthError) => thrown,
      );
      expect(error?.code).toBe('config_invalid');
      expect(error?.details).toEqual({ configKey: 'secureApis[0]', instance: 'partner' });
      expect(error?.message).toContain('"https://api.example.com/v1" of the default instance');
      expect(error?.message).toContain('"https://api.example.com" of instance "partner"');
    });

    it('accepts sibling paths that only share a prefix of characters', async () => {
      const harness = await withInstances({ secureApis: ['/api'] }, { partner: { secureApis: ['/apis', 'https://api.example.com/api'] } });
      await harness.load();
      expect(TestBed.inject(AUTH_CONFIG).secureApis).toEqual(['/api']);
    });

    it('refuses withName() in Route.providers (dev mode): named instances belong to the root injector', async () => {
      const harness = await AuthHarness.create();
      await harness.load();
      const route = () =>
        createEnvironmentInjector(
          [provideAuth({ authority: harness.op.issuer, clientId: harness.op.clientId, redirectUrl: '/?op=lazy' }, withName('lazy'))],
          TestBed.inject(EnvironmentInjector),
        );
      const error = thrownBy(route);
      expect(error.code).toBe('config_invalid');
      expect(error.message).toContain('Route.providers');
    });

    it('refuses names that are not simple identifiers', () => {
      for (const name of ['', 'a b', '1st', 'a:b', 'a#b']) {
        expect(thrownBy(() => withName(name)).code).withContext(name).toBe('config_invalid');
      }
    });

    it('refuses the same name twice', async () => {
      const harness = await withInstances({}, { partner: {} });
      harness.providers = [...harness.providers, provideAuth({ authority: harness.op.issuer, clientId: 'other' }, withName('partner'))];
      const error = await harness.load().then(
        () => null,
        (thrown: AuthError) => thrown,
      );
      expect(error?.code).toBe('config_invalid');
      expect(error?.message).toContain('"partner"');
    });

    it('injectAuth() of an unknown name names the known ones', async () => {
      const harness = await withInstances({}, { partner: {}, billing: {} });
      await harness.load();
      const error = thrownBy(() => named('parnter'));
      expect(error.code).toBe('config_invalid');
      expect(error.message).toContain('"partner", "billing"');
    });

    it('injectAuth() without a name is the default instance', async () => {
      const harness = await withInstances({}, { partner: {} });
      await harness.load();
      expect(TestBed.runInInjectionContext(() => injectAuth())).toBe(harness.auth);
      expect(named('partner')).not.toBe(harness.auth);
    });
  });

  describe('guards', () => {
    it('authGuardFor(name) asks that instance, and signs in there', async () => {
      const harness = await withInstances({}, { partner: {} });
      await harness.signIn();
      const guard = authGuardFor('partner');
      const allowed = await TestBed.runInInjectionContext(() => guard({} as ActivatedRouteSnapshot, { url: '/partner-area' } as RouterStateSnapshot));
      expect(allowed).toBeFalse();
      expect(harness.attempts.getItem(`${PARTNER_NAMESPACE}:sign-in`)).toContain('/partner-area');
      expect(harness.attempts.getItem(`${DEFAULT_NAMESPACE}:sign-in`)).toBeNull();
      await signInNamed(harness, 'partner');
      expect(await TestBed.runInInjectionContext(() => authGuardFor('partner')({} as ActivatedRouteSnapshot, { url: '/partner-area' } as RouterStateSnapshot))).toBeTrue();
    });
  });

  describe('features', () => {
    it("a named instance does not inherit the default instance's withClock()", async () => {
      const harness = await withInstances({}, { partner: {}, billing: {} }, (harness, name) => (name === 'billing' ? [withClock(harness.clock)] : []));
      await load(harness, undefined, ['partner', 'billing']);
      const injectorOf = (name: string) => TestBed.inject(AuthInstances)['named'].get(name)!.injector;
      expect(TestBed.inject(AUTH_CLOCK)).toBe(harness.clock);
      expect(injectorOf('partner').get(AUTH_CLOCK)).toBe(systemClock);
      expect(injectorOf('billing').get(AUTH_CLOCK)).toBe(harness.clock);
    });
  });

  describe("the default instance's optional features", () => {
    it('a named instance without withPopupSignIn() or withSilentSignIn() does not reach the default instance\'s', async () => {
      const harness = await withInstances({ renew: { silentRenewUrl: '/silent-renew.html' } }, { partner: {} });
      harness.features = [withPopupSignIn(), withSilentSignIn()];
      await load(harness);
      const partner = TestBed.inject(AuthInstances)['named'].get('partner')!.injector;
      expect(TestBed.inject(POPUP_SIGN_IN, null)).not.toBeNull();
      expect(TestBed.inject(START_UP_SIGN_IN, null)).not.toBeNull();
      expect(partner.get(POPUP_SIGN_IN, null)).toBeNull();
      expect(partner.get(START_UP_SIGN_IN, null)).toBeNull();
      await expectAsync(named('partner').login({ popup: true })).toBeRejectedWith(jasmine.objectContaining({ code: 'config_invalid' }));
    });

    it("a named instance without withDPoP() gets no DPoP proofs, one with it its own", async () => {
      const harness = await withInstances({}, { partner: {}, billing: {} }, (_harness, name) => (name === 'billing' ? [withDPoP()] : []));
      harness.features = [withDPoP()];
      await load(harness, undefined, ['partner', 'billing']);
      const injectorOf = (name: string) => TestBed.inject(AuthInstances)['named'].get(name)!.injector;
      expect(TestBed.inject(DPOP_PROOFS, null)).not.toBeNull();
      expect(injectorOf('partner').get(DPOP_PROOFS, null)).toBeNull();
      expect(injectorOf('billing').get(DPOP_PROOFS, null)).not.toBeNull();
      expect(injectorOf('billing').get(DPOP_PROOFS, null)).not.toBe(TestBed.inject(DPOP_PROOFS, null));
    });

    it("refuses a named instance's popup page that is another instance's callback URL (the same mix-up)", async () => {
      const harness = await withInstances({ renew: { silentRenewUrl: '/silent-renew.html' } }, { partner: {} }, (harness) => [
        withClock(harness.clock),
        withPopupSignIn({ redirectUrl: '/silent-renew.html' }),
      ]);
      const error = await loadError(harness);
      expect(error?.code).toBe('config_invalid');
      expect(error?.details).toEqual({ configKey: 'withPopupSignIn({ redirectUrl })', instance: 'partner' });
    });
  });

  describe('NgModule apps', () => {
    it('register a named instance with AuthModule.forRoot(config, withName(name))', async () => {
      const harness = await AuthHarness.create();
      harness.providers = [
        importProvidersFrom(AuthModule.forRoot({ authority: harness.op.issuer, clientId: harness.op.clientId, storage: harness.storage, redirectUrl: '/?op=partner' }, withName('partner'), withClock(harness.clock))),
      ];
      await harness.signIn();
      await signInNamed(harness, 'partner');
      expect(named('partner').isAuthenticated()).toBeTrue();
      expect(harness.storage.getItem(`${PARTNER_NAMESPACE}:session`)).toContain('"at-2"');
    });
  });

  describe('an app with the default instance only', () => {
    it('has no instance router and keeps its storage namespace', async () => {
      const harness = await AuthHarness.create();
      await harness.signIn();
      expect(TestBed.inject(AUTH_INSTANCE_ROUTER, null)).toBeNull();
      expect(TestBed.inject(AUTH_CONFIG).storageNamespace).toBe(DEFAULT_NAMESPACE);
      expect(harness.storage.getItem(`${DEFAULT_NAMESPACE}:session`)).toContain('"at-1"');
    });
  });
});
