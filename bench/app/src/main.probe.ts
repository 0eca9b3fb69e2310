// The page the renew-cost and interceptor benchmarks drive (bench/run.mjs): ngx-oidc-session
// against the dev OP, with the renew strategy chosen per run, and a small API on `window` that
// the benchmark calls. Not part of the size comparison.
import { Component, createEnvironmentInjector, EnvironmentInjector, inject } from '@angular/core';
import {
  HttpClient,
  HttpInterceptorFn,
  HttpResponse,
  provideHttpClient,
  withInterceptors,
} from '@angular/common/http';
import { firstValueFrom, of } from 'rxjs';
import { authInterceptor, AuthService, provideAuth } from 'ngx-oidc-session';
import { withDPoP } from 'ngx-oidc-session/dpop';
import { API, AUTHORITY, bootBenchApp } from './shell';

const STRATEGY_KEY = 'ngx-oidc-session-bench:strategy';
const strategy = sessionStorage.getItem(STRATEGY_KEY) === 'iframe' ? 'iframe' : 'refresh_token';
/** 'on': the page signs in with withDPoP(), so that the interceptor makes a real proof per request (its DPOP_PROOFS). */
const DPOP_KEY = 'ngx-oidc-session-bench:dpop';
const dpop = sessionStorage.getItem(DPOP_KEY) === 'on';

/** Answers every request at once, so that a timing measures the interceptor chain and nothing else. */
const answerAtOnce: HttpInterceptorFn = () => of(new HttpResponse({ status: 200, body: null }));

/** An interceptor that does nothing: what any interceptor costs in Angular's chain. */
const passThrough: HttpInterceptorFn = (request, next) => next(request);

/** Mean time (ms) per request through HttpClient for `count` requests, run one after another. */
async function timeRequests(http: HttpClient, url: string, count: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await firstValueFrom(http.get(url));
  return (performance.now() - started) / count;
}

export interface BenchProbe {
  status(): string;
  /** The token type of the session (AuthState.tokenType): says whether a DPoP run really had DPoP-bound tokens. */
  tokenType(): string | null;
  login(): Promise<void>;
  /** Forces one renewal; resolves with its duration in ms once the new token is usable. */
  renew(): Promise<number>;
  /** Median added time per request (µs) of the interceptor, for a secure URL and an other one. */
  interceptorOverhead(
    batches: number,
    perBatch: number,
  ): Promise<{ secureUs: number; otherUs: number; emptyInterceptorUs: number; baselineUs: number }>;
}

@Component({
  selector: 'bench-home',
  template: `<p data-testid="status">{{ auth.state().status }}</p>`,
})
class Home {
  protected readonly auth = inject(AuthService);
  private readonly injector = inject(EnvironmentInjector);

  constructor() {
    const auth = this.auth;
    const withAuth = createEnvironmentInjector([provideHttpClient(withInterceptors([authInterceptor, answerAtOnce]))], this.injector).get(HttpClient);
    const withEmpty = createEnvironmentInjector([provideHttpClient(withInterceptors([passThrough, answerAtOnce]))], this.injector).get(HttpClient);
    const without = createEnvironmentInjector([provideHttpClient(withInterceptors([answerAtOnce]))], this.injector).get(HttpClient);
    const probe: BenchProbe = {
      status: () => auth.state().status,
      tokenType: () => auth.state().tokenType,
      login: () => auth.login(),
      async renew() {
        const started = performance.now();
        await auth.renew();
        await auth.getAccessToken();
        return performance.now() - started;
      },
      async interceptorOverhead(batches, perBatch) {
        const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
        const secure: number[] = [];
        const other: number[] = [];
        const baseline: number[] = [];
        const empty: number[] = [];
        // Warm up the JIT and the token cache before measuring.
        await timeRequests(withAuth, `${API}/hello`, perBatch);
        // Interleaved, so that a slow moment of the machine hits every variant alike.
        for (let i = 0; i < batches; i++) {
          baseline.push(await timeRequests(without, `${API}/hello`, perBatch));
          empty.push(await timeRequests(withEmpty, `${API}/hello`, perBatch));
          secure.push(await timeRequests(withAuth, `${API}/hello`, perBatch));
          other.push(await timeRequests(withAuth, 'http://localhost:4200/assets/data.json', perBatch));
        }
        const base = median(baseline);
        return {
          secureUs: (median(secure) - base) * 1000,
          otherUs: (median(other) - base) * 1000,
          emptyInterceptorUs: (median(empty) - base) * 1000,
          baselineUs: base * 1000,
        };
      },
    };
    (window as unknown as { benchProbe: BenchProbe }).benchProbe = probe;
  }
}

bootBenchApp(Home, [
  provideHttpClient(),
  provideAuth({
    authority: AUTHORITY,
    // The iframe client has no refresh-token grant, so an iframe run measures the iframe for real.
    clientId: strategy === 'iframe' ? 'ngx-oidc-demo-no-refresh' : 'ngx-oidc-demo',
    redirectUrl: '/',
    scope: 'openid profile email',
    renew: { strategy, silentRenewUrl: '/silent-renew.html' },
    secureApis: [API],
  }, ...(dpop ? [withDPoP()] : [])),
]);
