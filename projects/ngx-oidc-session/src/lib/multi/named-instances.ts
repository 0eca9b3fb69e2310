import { HttpEvent, HttpHandlerFn, HttpRequest } from '@angular/common/http';
import {
  ApplicationRef,
  DestroyRef,
  EnvironmentInjector,
  Injectable,
  InjectionToken,
  Provider,
  createEnvironmentInjector,
  inject,
  makeEnvironmentProviders,
  provideAppInitializer,
  provideEnvironmentInitializer,
  runInInjectionContext,
} from '@angular/core';
import { Observable, from, switchMap } from 'rxjs';
import { AuthService } from '../auth.service';
import { AUTH_CONFIG, AuthConfig, ResolvedAuthConfig, resolveAuthConfig } from '../core/config';
import { AuthError, AuthErrorDetails } from '../core/errors';
import { AUTH_INSTANCE_ROUTER, AUTH_TOKEN, attachAuthToken } from '../http/auth-interceptor';
import { opUrlsOf } from '../http/token-headers';
import { DPOP_PROOFS } from '../dpop/dpop-proofs';
import { SecureUrlMatcher, SecureUrlRule, pathMatches } from '../http/secure-url-matcher';
import { AuthBrowser } from '../platform/browser';
import { AUTH_CLOCK, systemClock } from '../platform/clock';
import { POPUP_SIGN_IN } from '../popup/popup-token';
import { TOKEN_STORAGE, createTokenStorage } from '../platform/web-storage';
import { AuthFeature, checkFeatures } from '../provide-auth';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { RenewScheduler } from '../renew/renew-scheduler';
import { AuthEvents } from '../state/auth-events';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { callbackKey, isResponseAt } from '../state/callback-url';
import { SignInAttempts, withoutResponseParams } from '../state/sign-in-attempts';
import { START_UP_SIGN_IN } from '../state/start-up-sign-in';
import { TabCoordinator } from '../tabs/tab-coordinator';

/**
 * Every service that holds the state of one auth instance or reads its AUTH_CONFIG. The default
 * instance has them in the root injector (`providedIn: 'root'`); each named instance gets its
 * own copies in a child injector. A new per-instance service MUST be added here, or a named
 * instance would share the default instance's copy.
 */
const PER_INSTANCE_SERVICES: Provider[] = [
  AuthService,
  SessionStore,
  ProtocolLoader,
  SignInAttempts,
  RenewScheduler,
  TabCoordinator,
  AuthEvents,
  DiscoveryCache,
  // The root one follows the default instance's config.
  { provide: TOKEN_STORAGE, useFactory: () => createTokenStorage(inject(AUTH_CONFIG).storage, inject(AuthBrowser).window) },
];

/** A simple identifier: it becomes part of storage keys, lock and channel names. */
const INSTANCE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

interface NamedInstance {
  readonly name: string;
  readonly config: AuthConfig;
  readonly features: readonly AuthFeature[];
}

const NAMED_INSTANCES = new InjectionToken<NamedInstance[]>('ngx-oidc-session named instances');

function nameError(problem: string): AuthError {
  return new AuthError('config_invalid', problem && `ngx-oidc-session: ${problem}`, false, { configKey: 'name' });
}

/**
 * Every URL of the app at which an OP's response to this instance lands, with its config key.
 * Each must belong to this instance alone (AuthInstances.checkCallbackUrls(), RFC 9700 4.4.2).
 * A new way to receive responses (a popup sign-in page, ...) adds its URL here.
 */
export function callbackUrlsOf(config: ResolvedAuthConfig): { readonly configKey: string; readonly url: string }[] {
  return [
    { configKey: 'redirectUrl', url: config.redirectUrl },
    { configKey: 'renew.silentRenewUrl', url: config.renew.silentRenewUrl },
  ].filter((entry): entry is { configKey: string; url: string } => entry.url !== null);
}

/**
 * A secureApis entry as the most lenient server might read it, for the overlap check only
 * (stricter than the matcher): host without a trailing dot, every loopback host as one; path
 * decoded, lowercase, without `;parameters`, empty segments or a trailing slash.
 */
export function lenientRule(entry: string, appOrigin: string): SecureUrlRule {
  const url = new URL(entry, appOrigin);
  const host = url.hostname.replace(/\.$/, '');
  const loopback = host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '[::1]';
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // malformed escapes: compared as written
  }
  path = path
    .toLowerCase()
    .split('/')
    .map((segment) => segment.split(';')[0])
    .filter(Boolean)
    .join('/');
  return { origin: `${url.protocol}//${loopback ? 'loopback' : host}:${url.port}`, path: path && `/${path}` };
}

/**
 * Makes provideAuth() (or AuthModule.forRoot()) register a named instance beside the default
 * one, for a second OP or client: `provideAuth(partnerConfig, withName('partner'))`. It has its
 * own session, storage keys, locks, tab channel, timers and events; `injectAuth('partner')`
 * returns its AuthService and `authGuardFor('partner')` guards routes with it. The features
 * passed with it (withClock(), ...) apply to this instance only.
 *
 * @param name a simple identifier (a letter, then letters, digits, `_` or `-`), unique in the app.
 *   It is part of the instance's storage keys: renaming it signs its users out.
 */
export function withName(name: string): AuthFeature<'name'> {
  // Kept in production: the name goes into storage keys and Web Lock names.
  if (typeof name !== 'string' || !INSTANCE_NAME.test(name)) {
    throw nameError(ngDevMode ? `withName() needs a simple identifier (a letter, then letters, digits, "_" or "-"), got "${String(name)}".` : '');
  }
  return {
    ɵkind: 'name',
    ɵproviders: [],
    ɵinstance: (config, features) => {
      if (ngDevMode) checkFeatures(features);
      return makeEnvironmentProviders([
        { provide: NAMED_INSTANCES, multi: true, useValue: { name, config, features: features.filter((feature) => feature.ɵkind !== 'name') } },
        AuthInstances,
        { provide: AUTH_INSTANCE_ROUTER, useFactory: () => inject(AuthInstances).intercept },
        // Before any app initializer: see AuthInstances.claimCallback().
        provideEnvironmentInitializer(() => inject(AuthInstances).claimCallback()),
        provideAppInitializer(() => inject(AuthInstances).service(name).initialize()),
      ]);
    },
  };
}

/**
 * The AuthService of an auth instance: the default one without a name, else the one
 * registered with `withName(name)`. Call it in an injection context (a constructor, a field
 * initializer, a guard). An unknown name is a `config_invalid` AuthError naming the known ones.
 */
export function injectAuth(name?: string): AuthService {
  const instances = inject(AuthInstances, { optional: true });
  if (name === undefined) {
    if (!inject(AUTH_CONFIG, { optional: true }) && instances) {
      throw nameError(ngDevMode ? `injectAuth() asks for the default instance, but provideAuth() was only given named ones: ${instances.names()}.` : '');
    }
    return inject(AuthService);
  }
  if (!instances?.has(name)) {
    throw nameError(ngDevMode ? `injectAuth("${name}"): no instance has that name; known: ${instances?.names() || 'none (pass withName(...) to provideAuth())'}.` : '');
  }
  return instances.service(name);
}

/** One auth instance: its name (null: the default one), its injector and its config. */
interface Instance {
  readonly name: string | null;
  readonly injector: EnvironmentInjector;
  readonly config: ResolvedAuthConfig;
}

/** Matchers built per instance config, page origin and base, as the default interceptor caches its own. */
const matchers = new WeakMap<ResolvedAuthConfig, { key: string; secureApis: SecureUrlMatcher; otherOps: SecureUrlMatcher | null; otherOpsKey: string }>();

const label = (instance: Instance) => (instance.name === null ? 'the default instance' : `instance "${instance.name}"`);

/**
 * The named instances of the app, each in its own child injector, created at start. It checks
 * that the instances fit together, hands each authorization or logout response to the
 * instance that started it, and routes the interceptor's requests to the instance whose
 * secureApis they go to.
 */
@Injectable()
export class AuthInstances {
  private readonly root = inject(EnvironmentInjector);
  private readonly browser = inject(AuthBrowser);
  private readonly named = new Map<string, Instance>();
  private readonly all: Instance[] = [];
  /** Responses taken from the address bar before the app initializers ran, per instance name. */
  private readonly claimed = new Map<string, string>();

  constructor() {
    if (ngDevMode && inject(ApplicationRef).injector !== this.root) {
      throw nameError(
        'withName() was given to provideAuth() in Route.providers or a lazy module: named instances must be provided with the ' +
          "application's providers (bootstrapApplication(), the root NgModule), so that they start with the app and injectAuth() finds them everywhere.",
      );
    }
    const defaultConfig = inject(AUTH_CONFIG, { optional: true });
    if (defaultConfig) this.all.push({ name: null, injector: this.root, config: defaultConfig });
    for (const entry of inject(NAMED_INSTANCES)) {
      if (this.named.has(entry.name)) {
        throw nameError(ngDevMode ? `withName("${entry.name}") is given to two provideAuth() calls; each instance needs its own name.` : '');
      }
      const injector = this.createInjector(entry);
      const instance = { name: entry.name, injector, config: injector.get(AUTH_CONFIG) };
      this.named.set(entry.name, instance);
      this.all.push(instance);
    }
    inject(DestroyRef).onDestroy(() => this.named.forEach(({ injector }) => injector.destroy()));
    this.checkSecureApis();
    this.checkCallbackUrls();
  }

  has(name: string): boolean {
    return this.named.has(name);
  }

  names(): string {
    return [...this.named.keys()].map((name) => `"${name}"`).join(', ');
  }

  service(name: string): AuthService {
    return this.named.get(name)!.injector.get(AuthService);
  }

  private createInjector({ name, config, features }: NamedInstance): EnvironmentInjector {
    return createEnvironmentInjector(
      [
        {
          provide: AUTH_CONFIG,
          // The name is in the namespace: two instances of the same OP and client stay apart.
          // (A default namespace never contains "#": the authority may have no fragment.)
          useFactory: () => {
            const browser = inject(AuthBrowser);
            const resolved = resolveAuthConfig(config, browser.isBrowser ? browser.origin : null);
            return { ...resolved, storageNamespace: `${resolved.storageNamespace}#${name}`, instanceName: name };
          },
        },
        // Not the default instance's withClock(): this instance's own features (below) may give one.
        { provide: AUTH_CLOCK, useValue: systemClock },
        // Nor the default instance's optional features: an instance without withPopupSignIn() or
        // withSilentSignIn() of its own must not reach the default's (another config, another OP).
        { provide: POPUP_SIGN_IN, useValue: null },
        { provide: START_UP_SIGN_IN, useValue: null },
        { provide: DPOP_PROOFS, useValue: null },
        // The page as this instance sees it: another instance's response is not in its address bar.
        { provide: AuthBrowser, useFactory: () => this.browserFor(name, inject(AuthBrowser, { skipSelf: true })) },
        PER_INSTANCE_SERVICES,
        features.flatMap((feature) => feature.ɵproviders),
      ],
      this.root,
      `ngx-oidc-session ${name}`,
    );
  }

  /**
   * `config_invalid` when two instances would both send their token to some URL: same origin,
   * and one path prefix contains the other on a segment boundary. Compared as leniently as a
   * server may read URLs (lenientRule()), so that `/API`, `/%61pi` or `//api` beside `/api`,
   * or localhost beside 127.0.0.1, are refused too.
   */
  private checkSecureApis(): void {
    const origin = this.browser.origin;
    const rules = this.all.flatMap((instance) => instance.config.secureApis.map((entry, index) => ({ instance, entry, index, rule: lenientRule(entry, origin) })));
    for (const [position, first] of rules.entries()) {
      for (const second of rules.slice(position + 1)) {
        if (first.instance === second.instance || first.rule.origin !== second.rule.origin) continue;
        if (pathMatches(first.rule, second.rule.path) || pathMatches(second.rule, first.rule.path)) {
          throw new AuthError(
            'config_invalid',
            ngDevMode
              ? `ngx-oidc-session: secureApis overlap: "${first.entry}" of ${label(first.instance)} and "${second.entry}" of ${label(second.instance)} ` +
                'would both get requests for the same URLs. Give each instance its own API paths.'
              : '',
            false,
            instanceDetails(second.instance, `secureApis[${second.index}]`),
          );
        }
      }
    }
  }

  /**
   * `config_invalid` when two instances share a callback URL (redirect, silent-renew or popup page,
   * compared without fragment; a query of its own, `?op=partner`, is enough). RFC 9700 4.4.2:
   * with a URL per instance, an OP that sends another instance's response there (a mix-up,
   * its state handed to a second OP) is caught, since each response must come back at the
   * redirect URI of its own request; a shared URL would let it through when the OP sends no `iss`.
   */
  private checkCallbackUrls(): void {
    const owners = new Map<string, { instance: Instance; configKey: string }>();
    for (const instance of this.all) {
      // The popup's page too (withPopupSignIn()): a popup's response is open to the same mix-up.
      const popupPage = instance.injector.get(POPUP_SIGN_IN, null)?.redirectUrl;
      const callbacks = [...callbackUrlsOf(instance.config), ...(popupPage ? [{ configKey: 'withPopupSignIn({ redirectUrl })', url: popupPage }] : [])];
      for (const { configKey, url } of callbacks) {
        const key = callbackKey(new URL(url));
        const other = owners.get(key);
        if (other && other.instance !== instance) {
          throw new AuthError(
            'config_invalid',
            ngDevMode
              ? `ngx-oidc-session: ${configKey} of ${label(instance)} is the ${other.configKey} of ${label(other.instance)} ("${key}"). ` +
                'Each instance needs callback URLs of its own, registered at its own OP only (a query such as "?op=partner" is enough): ' +
                'a shared one lets one OP hand its response to another instance (a mix-up attack, RFC 9700 4.4).'
              : '',
            false,
            instanceDetails(instance, configKey),
          );
        }
        owners.set(key, { instance, configKey });
      }
    }
  }

  /** The instance whose sign-in attempt or logout sent the browser away with this `state`. */
  private ownerOf(state: string): Instance | undefined {
    return this.all.find((instance) => {
      const attempts = instance.injector.get(SignInAttempts);
      return attempts.expects(state) || attempts.storage.getItem(attempts.logoutKey) === state;
    });
  }

  /**
   * Runs before every app initializer. When the address bar holds the response to a named
   * instance's sign-in or logout, that response is kept for it and removed from the address bar,
   * so that the instances that start first (the default one included) do not see it, whatever
   * the order of the provideAuth() calls. A response of the default instance stays where the
   * default instance reads it; the named instances do not see it (browserFor()).
   */
  claimCallback(): void {
    if (!this.browser.isBrowser) return;
    const url = new URL(this.browser.href);
    const state = url.searchParams.get('state');
    const owner = state === null ? undefined : this.ownerOf(state);
    if (owner?.name) {
      // An authorization response at another URL than the owner's redirect URL is not handed
      // to it (RFC 9700 4.4.2, a mix-up): its code is redeemed by no instance.
      const authorizationResponse = url.searchParams.has('code') || url.searchParams.has('error');
      if (!authorizationResponse || isResponseAt(url, owner.config.redirectUrl)) this.claimed.set(owner.name, url.href);
      this.browser.replaceUrl(withoutResponseParams(url));
    }
  }

  /** The page's browser, whose address bar shows this instance its own response only. */
  private browserFor(name: string, page: AuthBrowser): AuthBrowser {
    const href = () => {
      const claimed = this.claimed.get(name);
      if (claimed !== undefined) {
        // Read once, by the instance's initialize(); the address bar is already clean.
        this.claimed.delete(name);
        return claimed;
      }
      const url = new URL(page.href);
      const state = url.searchParams.get('state');
      const owner = state === null ? undefined : this.ownerOf(state);
      return owner && owner.name !== name ? new URL(withoutResponseParams(url), url).href : url.href;
    };
    return new Proxy(page, {
      get: (target, key) => {
        if (key === 'href') return href();
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * One interceptor for all instances: a request gets the token of the instance whose
   * secureApis it goes to (at most one: overlaps are refused at start), never a token of
   * another instance, and never any token when it goes to any instance's OP. The other OPs'
   * endpoints outside their issuer's path are known from discovery only: when one is not
   * known yet (a new tab, storage 'memory'), it is learnt before a token leaves; a failed
   * discovery fails the request, typed, as the default interceptor does for its own OP.
   */
  readonly intercept = (request: HttpRequest<unknown>, next: HttpHandlerFn): Observable<HttpEvent<unknown>> => {
    if (!this.browser.isBrowser) return next(request);
    const policy = request.context.get(AUTH_TOKEN);
    if (policy === 'skip' || request.headers.has('Authorization')) return next(request);
    const origin = this.browser.origin;
    const base = this.browser.baseUrl;
    const target = this.instanceFor(request.url, policy === 'attach', origin, base);
    if (!target) return next(request);
    const others = this.all.filter((instance) => instance !== target);
    const send = () => (this.toOtherOp(target, others, origin, base, request.url) ? next(request) : runInInjectionContext(target.injector, () => attachAuthToken(request, next)));
    const unknown = others.filter((instance) => !instance.injector.get(DiscoveryCache).read());
    if (unknown.length === 0) return send();
    const learn = (instance: Instance) =>
      instance.injector
        .get(ProtocolLoader)
        .load()
        .then(({ client }) => client.discover());
    return from(Promise.all(unknown.map(learn))).pipe(switchMap(send));
  };

  /** Whether the URL is one of another instance's OP's, as far as their metadata is known. */
  private toOtherOp(target: Instance, others: Instance[], origin: string, base: string, url: string): boolean {
    const opUrls = others.flatMap((instance) => opUrlsOf(instance.config, instance.injector.get(DiscoveryCache).read()));
    const cached = this.matchersOf(target, origin, base);
    const key = JSON.stringify(opUrls);
    if (cached.otherOpsKey !== key || !cached.otherOps) {
      cached.otherOps = new SecureUrlMatcher(opUrls, origin, [], base);
      cached.otherOpsKey = key;
    }
    return cached.otherOps.matches(url);
  }

  private matchersOf(instance: Instance, origin: string, base: string) {
    // The base changes only with a navigation, and only in a page without <base href>.
    const key = `${origin} ${base}`;
    let cached = matchers.get(instance.config);
    if (cached?.key !== key) {
      cached = { key, secureApis: new SecureUrlMatcher(instance.config.secureApis, origin, [], base), otherOps: null, otherOpsKey: '' };
      matchers.set(instance.config, cached);
    }
    return cached;
  }

  /**
   * The instance whose secureApis the URL matches. For an explicit opt-in (`AUTH_TOKEN`
   * `attach`): the default instance for the app's own origin, else the one instance with a
   * secureApis entry on the URL's origin; none when several have one (which is meant is unknown).
   */
  private instanceFor(url: string, optIn: boolean, origin: string, base: string): Instance | undefined {
    const matched = this.all.find((instance) => this.matchersOf(instance, origin, base).secureApis.matches(url));
    if (matched || !optIn) return matched;
    let requestOrigin: string;
    try {
      requestOrigin = new URL(url, base).origin;
    } catch {
      return undefined;
    }
    const defaultInstance = this.all.find((instance) => instance.name === null);
    if (requestOrigin === origin && defaultInstance) return defaultInstance;
    const candidates = this.all.filter((instance) => instance.config.secureApis.some((entry) => new URL(entry, origin).origin === requestOrigin));
    if (candidates.length > 1) {
      if (ngDevMode) {
        // The request goes on without a token in every build; only the developer is told why.
        // eslint-disable-next-line no-console -- a dev-mode diagnostic, dropped from production builds
        console.error(
          `ngx-oidc-session: AUTH_TOKEN 'attach' for ${url}: ${candidates.map(label).join(' and ')} all have secureApis on ${requestOrigin}, ` +
            'so no token was attached. List the URL in the secureApis of the instance it is meant for.',
        );
      }
      return undefined;
    }
    return candidates[0];
  }
}

/** The details of a config error of one instance: its config key, and its name when it is a named one. */
function instanceDetails(instance: Instance, configKey: string): AuthErrorDetails {
  return instance.name === null ? { configKey } : { configKey, instance: instance.name };
}
