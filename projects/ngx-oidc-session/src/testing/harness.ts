import {
  HTTP_INTERCEPTORS,
  HttpBackend,
  HttpEvent,
  HttpRequest,
  provideHttpClient,
  withInterceptors,
  withInterceptorsFromDi,
} from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { Observable, Subject } from 'rxjs';
import { AuthInterceptor, authInterceptor } from '../lib/http/auth-interceptor';
import { ApplicationInitStatus, EnvironmentProviders, Provider, inject, provideAppInitializer } from '@angular/core';
import { AuthEvents } from '../lib/state/auth-events';
import { TestBed } from '@angular/core/testing';
import { AuthConfig } from '../lib/core/config';
import { AuthFeature, provideAuth, withClock } from '../lib/provide-auth';
import { AuthService } from '../lib/auth.service';
import { AuthEvent } from '../lib/core/auth-state';
import { AuthBrowser } from '../lib/platform/browser';
import { ATTEMPT_STORAGE } from '../lib/platform/web-storage';
import { OP_FETCH } from '../lib/platform/op-fetch';
import { MemoryTokenStorage } from '../lib/platform/web-storage';
import { FakeBrowser } from './fake-browser';
import { FakeClock } from './fake-clock';
import { FakeOp } from './fake-op';

export const APP = 'https://app.example.com';

/** OP requests go to the fake OP; every other request to HttpTestingController, announced on `apiRequests`. */
class RoutingBackend implements HttpBackend {
  constructor(
    private readonly op: FakeOp,
    private readonly api: HttpBackend,
    private readonly apiRequests: Subject<HttpRequest<unknown>>,
  ) {}

  handle(request: HttpRequest<unknown>): Observable<HttpEvent<unknown>> {
    if (new URL(request.url, APP).origin === this.op.issuer) return this.op.handle(request);
    const response = this.api.handle(request);
    this.apiRequests.next(request);
    return response;
  }
}

export type InterceptorSetup = 'none' | 'functional' | 'class';

/**
 * Runs the library as an app would, one "page load" at a time: each load() is a fresh
 * injector (a reload), while storage, the OP and the clock carry over, as in a browser.
 */
export class AuthHarness {
  readonly storage = new MemoryTokenStorage();
  readonly attempts = new MemoryTokenStorage();
  readonly browser = new FakeBrowser();
  readonly clock = new FakeClock();
  readonly events: AuthEvent[] = [];
  /** Requests that reached the API backend (HttpTestingController), as they arrive. */
  readonly apiRequests = new Subject<HttpRequest<unknown>>();
  /** How the app registers the interceptor on the next load(). */
  interceptor: InterceptorSetup = 'none';
  /** More providers of the app, for the next load() (e.g. APP_BASE_HREF for the guards). */
  providers: (Provider | EnvironmentProviders)[] = [];
  /** More features of provideAuth(), for the next load() (e.g. withSilentSignIn()). */
  features: AuthFeature[] = [];
  auth!: AuthService;

  constructor(
    readonly op: FakeOp,
    readonly config: Partial<AuthConfig> = {},
  ) {}

  static async create(config: Partial<AuthConfig> = {}): Promise<AuthHarness> {
    return new AuthHarness(await FakeOp.create(), config);
  }

  /** A page load at `href`: new injector, initialize() awaited. */
  async load(href = `${APP}/`): Promise<AuthService> {
    TestBed.resetTestingModule();
    this.browser.href = href;
    const http =
      this.interceptor === 'none'
        ? [provideHttpClient(), { provide: HttpBackend, useValue: this.op }]
        : [
            this.interceptor === 'functional'
              ? provideHttpClient(withInterceptors([authInterceptor]))
              : [provideHttpClient(withInterceptorsFromDi()), { provide: HTTP_INTERCEPTORS, useClass: AuthInterceptor, multi: true }],
            provideHttpClientTesting(),
            {
              provide: HttpBackend,
              useFactory: () => new RoutingBackend(this.op, inject(HttpTestingController) as unknown as HttpBackend, this.apiRequests),
            },
          ];
    TestBed.configureTestingModule({
      providers: [
        http,
        // Listens before provideAuth's initializer runs, so that start-up events are seen too.
        provideAppInitializer(() => void inject(AuthEvents).events$.subscribe((event) => this.events.push(event))),
        provideAuth({ authority: this.op.issuer, clientId: this.op.clientId, storage: this.storage, ...this.config }, withClock(this.clock), ...this.features),
        { provide: AuthBrowser, useValue: this.browser },
        { provide: ATTEMPT_STORAGE, useValue: this.attempts },
        // The library's own requests to the OP go through fetch, never through HttpBackend.
        { provide: OP_FETCH, useValue: this.op.fetch },
        this.providers,
      ],
    });
    this.auth = TestBed.inject(AuthService);
    // A start refused by initialize() (dev mode's checks of config.logout and tenantIssuer)
    // rejects load() below; TestBed itself never waits for the initializers it ran.
    TestBed.inject(ApplicationInitStatus).donePromise.catch(() => undefined);
    await this.auth.initialize();
    return this.auth;
  }

  /** Resolves with the next event that matches (events are pushed synchronously by the library). */
  nextEvent<T extends AuthEvent['type']>(...types: T[]): Promise<Extract<AuthEvent, { type: T }>> {
    return new Promise((resolve) => {
      const subscription = this.auth.events$.subscribe((event) => {
        if ((types as string[]).includes(event.type)) {
          subscription.unsubscribe();
          resolve(event as Extract<AuthEvent, { type: T }>);
        }
      });
    });
  }

  /** Advances to the next timer and waits for the renewal it starts to succeed or fail. */
  async runNextTimer(): Promise<Extract<AuthEvent, { type: 'token_renewed' | 'renew_failed' | 'session_expired' }>> {
    const outcome = this.nextEvent('token_renewed', 'renew_failed', 'session_expired');
    this.clock.advanceToNextTimer();
    return outcome;
  }

  /** The refresh-token grants the OP received, as form parameters. */
  refreshGrants(): URLSearchParams[] {
    return this.op
      .requestsTo('/token')
      .map((request) => new URLSearchParams(String(request.body)))
      .filter((form) => form.get('grant_type') === 'refresh_token');
  }

  /**
   * The tokens of the OP's first `count` revocation requests, once they arrived (the library
   * sends some, for refused token responses, without waiting for them).
   */
  revokedTokens(count = 1): Promise<(string | null)[]> {
    const tokens = () => this.op.requestsTo('/revoke').map((request) => new URLSearchParams(String(request.body)).get('token'));
    return new Promise((resolve) => {
      if (tokens().length >= count) return resolve(tokens());
      const revoke = this.op.handlers['/revoke'];
      this.op.handlers['/revoke'] = (request) => {
        const reply = revoke(request);
        if (tokens().length >= count) resolve(tokens());
        return reply;
      };
    });
  }

  /** Starts a sign-in and returns the authorization request URL the browser was sent to. */
  async startLogin(options: Parameters<AuthService['login']>[0] = {}): Promise<URL> {
    await this.auth.login(options);
    const url = new URL(this.browser.navigations.at(-1)!);
    this.op.nonce = url.searchParams.get('nonce') ?? undefined;
    return url;
  }

  /** The OP's redirect back to the app for an authorization request. */
  callbackUrl(authorize: URL, params: Record<string, string | null> = {}): string {
    const callback = new URL(authorize.searchParams.get('redirect_uri')!);
    const all: Record<string, string | null> = { code: 'good-code', state: authorize.searchParams.get('state'), iss: this.op.issuer, ...params };
    for (const [name, value] of Object.entries(all)) if (value !== null) callback.searchParams.set(name, value);
    return callback.href;
  }

  /** A complete sign-in: load, login, come back with a code. */
  async signIn(): Promise<AuthService> {
    await this.load();
    const authorize = await this.startLogin();
    return this.load(this.callbackUrl(authorize));
  }
}
