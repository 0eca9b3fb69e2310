import { HttpEvent, HttpHandlerFn, HttpRequest } from '@angular/common/http';
import {
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
import { Observable } from 'rxjs';
import { AuthService } from '../auth.service';
import { AUTH_CONFIG, AuthConfig, ResolvedAuthConfig, resolveAuthConfig } from '../core/config';
import { AuthError } from '../core/errors';
import { AUTH_INSTANCE_ROUTER, AUTH_TOKEN, attachAuthToken, opUrlsOf } from '../http/auth-interceptor';
import { SecureUrlMatcher, pathMatches, toRule } from '../http/secure-url-matcher';
import { AuthBrowser } from '../platform/browser';
import { TOKEN_STORAGE, createTokenStorage } from '../platform/web-storage';
import { AuthFeature, checkFeatures } from '../provide-auth';
import { ProtocolLoader } from '../protocol/protocol-loader';
import { RenewScheduler } from '../renew/renew-scheduler';
import { AuthEvents } from '../state/auth-events';
import { DiscoveryCache } from '../state/discovery-cache';
import { SessionStore } from '../state/session-store';
import { SignInAttempts, withoutResponseParams } from '../state/sign-in-attempts';
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
            return { ...resolved, storageNamespace: `${resolved.storageNamespace}#${name}` };
          },
        },
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
   * and one path prefix contains the other on a segment boundary.
   */
  private checkSecureApis(): void {
    const origin = this.browser.origin;
    const rules = this.all.flatMap((instance) => instance.config.secureApis.map((entry, index) => ({ instance, entry, index, rule: toRule(entry, origin) })));
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
            { configKey: `secureApis[${second.index}]` },
          );
        }
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
      this.claimed.set(owner.name, url.href);
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
   * another instance, and never any token when it goes to any instance's OP.
   */
  readonly intercept = (request: HttpRequest<unknown>, next: HttpHandlerFn): Observable<HttpEvent<unknown>> => {
    if (!this.browser.isBrowser) return next(request);
    const policy = request.context.get(AUTH_TOKEN);
    if (policy === 'skip' || request.headers.has('Authorization')) return next(request);
    const origin = this.browser.origin;
    const base = this.browser.baseUrl;
    const target = this.instanceFor(request.url, policy === 'attach', origin, base);
    if (!target) return next(request);
    const otherOps = this.all.filter((instance) => instance !== target).flatMap((instance) => opUrlsOf(instance.config, instance.injector.get(DiscoveryCache).read()));
    if (new SecureUrlMatcher(otherOps, origin, [], base).matches(request.url)) return next(request);
    return runInInjectionContext(target.injector, () => attachAuthToken(request, next));
  };

  /**
   * The instance whose secureApis the URL matches; for an explicit opt-in (`AUTH_TOKEN`
   * `attach`) also the instance with a secureApis entry on the URL's origin, or the default
   * instance for the app's own origin.
   */
  private instanceFor(url: string, optIn: boolean, origin: string, base: string): Instance | undefined {
    const matched = this.all.find((instance) => new SecureUrlMatcher(instance.config.secureApis, origin, [], base).matches(url));
    if (matched || !optIn) return matched;
    let requestOrigin: string;
    try {
      requestOrigin = new URL(url, base).origin;
    } catch {
      return undefined;
    }
    return (
      this.all.find((instance) => instance.config.secureApis.some((entry) => toRule(entry, origin).origin === requestOrigin)) ??
      (requestOrigin === origin ? this.all.find((instance) => instance.name === null) : undefined)
    );
  }
}
