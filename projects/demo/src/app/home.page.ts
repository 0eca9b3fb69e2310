import { Component, DestroyRef, computed, inject, signal } from '@angular/core';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { JsonPipe } from '@angular/common';
import { AuthError, AuthService, LogoutResult, isAuthError } from 'ngx-oidc-session';
import { firstValueFrom } from 'rxjs';
import { EventLog } from './event-log';
import { PartnerOp } from './partner-op';
import { DEMO_API, DemoStrategy, LOOKALIKE_API, OWN_API_RELATIVE, demoDPoP, demoSessionMonitor, demoSilentSignIn, demoStrategy, lastLogout, rememberLogout, switchDemoDPoP, switchDemoSessionMonitor, switchDemoSilentSignIn, switchDemoStrategy, testOverride } from './demo-settings';

interface ApiResult {
  readonly status: number;
  readonly body: unknown;
  readonly challenge: string | null;
  readonly sentToken: boolean;
}

@Component({
  selector: 'app-home',
  imports: [JsonPipe, PartnerOp],
  template: `
    <section class="hero">
      <h1>Sign in once. Stay signed in.</h1>
      <p>
        This app signs in with OpenID Connect (code + PKCE) against the dev OpenID Provider and renews its tokens
        silently before they expire. Everything below is live.
      </p>
    </section>

    <div class="grid">
      <section class="card">
        <h2>Session</h2>
        @switch (state().status) {
          @case ('authenticated') {
            <p class="lead">Signed in as <strong data-testid="user-name">{{ user()?.name ?? user()?.sub }}</strong></p>
            <div class="expiry" data-testid="expiry">
              <span class="label">Access token expires in</span>
              <span class="countdown" [class.soon]="secondsLeft() < 30">{{ countdown() }}</span>
            </div>
            <p class="muted">
              Token type <code data-testid="token-type">{{ state().tokenType }}</code>
              {{ state().tokenType === 'DPoP' ? '(bound to this browser’s key; each request carries a proof)' : '(anyone holding it can use it)' }}
            </p>
            <div class="actions">
              <button type="button" (click)="auth.renew()" data-testid="renew">Renew now</button>
              <button type="button" class="secondary" (click)="logout()" data-testid="logout">Sign out</button>
              <button type="button" class="secondary" (click)="auth.login({ prompt: 'login' })" data-testid="switch-account">Switch account</button>
              <button type="button" class="secondary" (click)="stepUp()" data-testid="step-up">Step up (sign in again, second factor)</button>
            </div>
            @if (state().authentication; as authn) {
              <p class="muted" data-testid="authentication">
                Authenticated <span data-testid="auth-time">{{ authn.authTime ?? '' }}</span> (auth_time) ·
                acr <code data-testid="acr">{{ authn.acr ?? 'none' }}</code> ·
                amr <code data-testid="amr">{{ authn.amr.join(' ') }}</code>
                @if (authn.acr === stepUpAcr) {
                  <strong data-testid="stepped-up">stepped up</strong>
                }
              </p>
            }
          }
          @case ('unauthenticated') {
            <p class="lead">You are signed out.</p>
            <div class="actions">
              <button type="button" (click)="auth.login()" data-testid="login">Sign in</button>
              <button type="button" class="secondary" (click)="loginWithPopup()" data-testid="login-popup">Sign in with popup</button>
            </div>
            <p class="muted">The popup signs you in and closes; this page stays where it is.</p>
          }
          @default {
            <p class="lead">Checking your session…</p>
          }
        }
        @if (logoutError(); as error) {
          <p class="error" data-testid="logout-error"><code>{{ error.code }}</code> {{ error.details.configKey }}: {{ error.message }}</p>
        }
        @if (logoutResult(); as result) {
          <!-- A logout that stayed on this page: why, and what failed (an OP's logout endpoint refused, a failed revocation). -->
          <p class="muted" data-testid="logout-result">Signed out here only ({{ result.reason }}){{ result.error ? ': ' + result.error.code + ' ' + (result.error.details.configKey ?? '') : '' }}</p>
        }
        @if (state().error; as error) {
          <p class="error" data-testid="error"><code>{{ error.code }}</code> {{ error.message }}
            @if (error.details.oauthError) {
              <span data-testid="error-oauth">(the OP said <code>{{ error.details.oauthError }}</code>{{ error.details.oauthErrorDescription ? ': ' + error.details.oauthErrorDescription : '' }})</span>
            }
          </p>
        }
        @if (lastLogout(); as result) {
          <p class="muted" data-testid="last-logout">
            Last sign-out: <span data-testid="last-logout-outcome">{{ result.outcome }}</span>,
            refresh token <span data-testid="last-logout-revoked">{{ result.refreshTokenRevoked ? 'revoked' : 'not revoked' }}</span>
            @if (result.error) {
              (<code data-testid="last-logout-error">{{ result.error }}</code>)
            }
          </p>
        }
        <label class="strategy">
          Renew strategy
          <select [value]="strategy" (change)="switchStrategy($any($event.target).value)" data-testid="strategy">
            <option value="refresh_token">refresh token</option>
            <option value="iframe">hidden iframe (prompt=none)</option>
          </select>
        </label>
        <label class="strategy">
          <input type="checkbox" [checked]="silentSignIn" (change)="switchSilentSignIn($any($event.target).checked)" data-testid="silent-sign-in" />
          Silent sign-in at start-up (from the OP's session, in new tabs and after reloads)
        </label>
        <label class="strategy">
          <input type="checkbox" [checked]="dpop" (change)="switchDPoP($any($event.target).checked)" data-testid="dpop" />
          DPoP: sender-constrained tokens (withDPoP(); sign in again after switching)
        </label>
        <label class="strategy">
          <input type="checkbox" [checked]="sessionMonitor" (change)="switchSessionMonitor($any($event.target).checked)" data-testid="session-monitor" />
          Session monitoring: a sign-out at the OP ends the session here (withSessionMonitor(); see the event log)
        </label>
      </section>

      <section class="card">
        <h2>Protected API</h2>
        <p>
          <code>GET {{ api }}/hello</code> validates the bearer token with the OP and answers 401 without a valid one.
        </p>
        <div class="actions">
          <button type="button" (click)="callApi()" data-testid="call-api">Call the API</button>
          <button type="button" class="secondary" (click)="toggleAutoCall()" data-testid="auto-call">
            {{ autoCall() ? 'Stop calling' : 'Call every 2 s' }}
          </button>
        </div>
        <p class="tally" data-testid="api-tally">
          <span data-testid="api-ok-count">{{ tally().ok }}</span> OK ·
          <span data-testid="api-unauthorized-count">{{ tally().unauthorized }}</span> unauthorized ·
          <span data-testid="api-failed-count">{{ tally().failed }}</span> failed
        </p>
        @if (apiResult(); as result) {
          <div class="result" [class.ok]="result.status === 200" data-testid="api-result">
            <div><strong data-testid="api-status">{{ result.status }}</strong> {{ result.sentToken ? 'with' : 'without' }} a token</div>
            @if (result.challenge) {
              <div class="challenge">WWW-Authenticate: {{ result.challenge }}</div>
            }
            <pre>{{ result.body | json }}</pre>
          </div>
        }
      </section>

      <section class="card">
        <h2>Token safety</h2>
        <p>
          The token goes to <code>{{ api }}</code> only: matched by exact origin and whole path segments, never by string
          prefix. These look-alikes get nothing:
        </p>
        <div class="actions">
          <button type="button" class="secondary" (click)="callLookalike(lookalike + '/hello')" data-testid="call-lookalike">
            {{ lookalikeLabel }}
          </button>
          <button type="button" class="secondary" (click)="callLookalike(apisPath)" data-testid="call-apis-path">
            {{ apisPathLabel }}
          </button>
        </div>
        @if (lookalikeResult(); as result) {
          <p class="result" [class.ok]="result.safe" data-testid="lookalike-result">{{ result.text }}</p>
        }
        <p>
          Relative URLs go where the browser sends them, under the base href
          <code>{{ baseUrl }}</code>: <code>{{ ownApi }}/hello</code> gets the token, <code>/api/hello</code> only when
          the base is the origin's root.
        </p>
        <div class="actions">
          <button type="button" class="secondary" (click)="callOwnApi(ownApi + '/hello')" data-testid="call-relative-api">
            {{ ownApi }}/hello
          </button>
          <button type="button" class="secondary" (click)="callOwnApi('/api/hello')" data-testid="call-root-api">/api/hello</button>
        </div>
        @if (ownApiResult(); as result) {
          <p class="result" data-testid="own-api-result">{{ result }}</p>
        }
      </section>

      <app-partner-op />

      <section class="card">
        <h2>User claims</h2>
        @if (user(); as claims) {
          <table data-testid="claims">
            @for (claim of claimList(); track claim[0]) {
              <tr>
                <th>{{ claim[0] }}</th>
                <td>{{ claim[1] }}</td>
              </tr>
            }
          </table>
        } @else {
          <p class="muted">Sign in to see the claims of the ID token and userinfo.</p>
        }
      </section>

      <section class="card">
        <h2>Events</h2>
        @if (log.events().length) {
          <ol class="events" data-testid="events">
            @for (event of log.events(); track $index) {
              <li [attr.data-type]="event.type">
                <time>{{ event.time }}</time>
                <span class="type">{{ event.type }}</span>
                <span class="detail">{{ event.detail }}</span>
              </li>
            }
          </ol>
        } @else {
          <p class="muted">Sign-in, renewal and error events appear here as they happen.</p>
        }
      </section>
    </div>
  `,
})
export class HomePage {
  protected readonly auth = inject(AuthService);
  protected readonly log = inject(EventLog);
  private readonly http = inject(HttpClient);
  protected readonly api = DEMO_API;
  protected readonly strategy = demoStrategy();
  protected readonly silentSignIn = demoSilentSignIn();
  protected readonly dpop = demoDPoP();
  protected readonly sessionMonitor = demoSessionMonitor();
  protected readonly state = this.auth.state;
  protected readonly user = this.auth.user;
  protected readonly apiResult = signal<ApiResult | null>(null);
  protected readonly autoCall = signal(false);
  protected readonly lookalike = LOOKALIKE_API;
  protected readonly apisPath = DEMO_API.replace(/\/api$/, '/apis/hello');
  protected readonly lookalikeLabel = LOOKALIKE_API.replace('http://', '');
  protected readonly apisPathLabel = DEMO_API.replace(/^http:\/\/(.*)\/api$/, '$1/apis');
  protected readonly lookalikeResult = signal<{ safe: boolean; text: string } | null>(null);
  protected readonly ownApi = OWN_API_RELATIVE;
  protected readonly baseUrl = document.baseURI;
  protected readonly ownApiResult = signal<string | null>(null);
  protected readonly logoutError = signal<AuthError | null>(null);
  /** What the last logout() of this tab reported (kept across the OP's end-session round trip). */
  protected readonly lastLogout = signal(lastLogout());
  protected readonly logoutResult = signal<LogoutResult | null>(null);
  protected readonly tally = signal({ ok: 0, unauthorized: 0, failed: 0 });
  /** The dev OP's password-and-second-factor level (tools/dev-op/provider.mjs). */
  protected readonly stepUpAcr = 'urn:dev-op:loa:2';
  private autoCallTimer: ReturnType<typeof setInterval> | undefined;
  private readonly now = signal(Date.now());

  protected readonly secondsLeft = computed(() => {
    const expiresAt = this.state().accessTokenExpiresAt;
    return expiresAt === null ? 0 : Math.max(0, Math.round((expiresAt - this.now()) / 1000));
  });
  protected readonly countdown = computed(() => {
    const seconds = this.secondsLeft();
    const minutes = Math.floor(seconds / 60);
    return `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
  });
  protected readonly claimList = computed(() =>
    Object.entries(this.user() ?? {}).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)] as const),
  );

  constructor() {
    const ticker = setInterval(() => this.now.set(Date.now()), 1000);
    inject(DestroyRef).onDestroy(() => {
      clearInterval(ticker);
      clearInterval(this.autoCallTimer);
    });
  }

  /**
   * Step-up: max_age 0 makes the OP authenticate the user again, and the library check auth_time.
   * The OP may ignore acr_values, so the template compares the acr it reports.
   */
  protected stepUp(): void {
    void this.auth.login({ maxAge: 0, acrValues: this.stepUpAcr }).catch(() => undefined);
  }

  /**
   * In the click handler itself, with no await before it: the browser lets the popup through
   * only while the click's user activation lasts. A failure (blocked, closed) shows in the state.
   */
  protected loginWithPopup(): void {
    void this.auth.login({ popup: true }).catch(() => undefined);
  }

  protected toggleAutoCall(): void {
    this.autoCall.update((on) => !on);
    clearInterval(this.autoCallTimer);
    if (this.autoCall()) this.autoCallTimer = setInterval(() => void this.callApi(), 2000);
  }

  private count(status: number): void {
    this.tally.update((tally) =>
      status === 200 ? { ...tally, ok: tally.ok + 1 } : status === 401 ? { ...tally, unauthorized: tally.unauthorized + 1 } : { ...tally, failed: tally.failed + 1 },
    );
  }

  protected async callApi(): Promise<void> {
    // No Authorization header here: authInterceptor adds it, because DEMO_API is in secureApis.
    const sentToken = this.auth.isAuthenticated();
    try {
      const body = await firstValueFrom(this.http.get<unknown>(`${DEMO_API}/hello`));
      this.count(200);
      this.apiResult.set({ status: 200, body, challenge: null, sentToken });
    } catch (error) {
      if (isAuthError(error)) {
        // No token to be had right now (OP unreachable, session ended): the state shows why.
        this.count(0);
        this.apiResult.set({ status: 0, body: { error: error.code, message: error.message }, challenge: null, sentToken: false });
        return;
      }
      if (!(error instanceof HttpErrorResponse)) throw error;
      this.count(error.status);
      this.apiResult.set({
        status: error.status,
        body: error.error,
        challenge: error.headers.get('WWW-Authenticate'),
        sentToken,
      });
    }
  }

  protected async callLookalike(url: string): Promise<void> {
    try {
      const body = await firstValueFrom(this.http.get<{ hadAuthorization?: boolean }>(url));
      const leaked = body.hadAuthorization === true;
      this.lookalikeResult.set({ safe: !leaked, text: `${url}: ${leaked ? 'received a token!' : 'received no token'}` });
    } catch (error) {
      const status = error instanceof HttpErrorResponse ? error.status : 0;
      this.lookalikeResult.set({
        safe: true,
        text: status === 0 ? `${url}: nothing listens there outside the test rig` : `${url}: HTTP ${status}, sent without a token`,
      });
    }
  }

  protected async logout(): Promise<void> {
    this.logoutError.set(null);
    try {
      // The options are the e2e suite's bad override, when it set one; none otherwise.
      const result = await this.auth.logout(testOverride().logout);
      this.lastLogout.set(rememberLogout(result));
      if (result.outcome === 'local') this.logoutResult.set(result);
    } catch (error) {
      if (!isAuthError(error)) throw error;
      this.logoutError.set(error);
    }
  }

  /**
   * A call to the app's own origin. The static servers of the demo answer it with the app's
   * page (no API there); what the test rig checks is whether it arrived with a token.
   */
  protected async callOwnApi(url: string): Promise<void> {
    const sentTo = new URL(url, document.baseURI).pathname;
    try {
      await firstValueFrom(this.http.get(url, { responseType: 'text' }));
      this.ownApiResult.set(`${url}: sent to ${sentTo}, HTTP 200`);
    } catch (error) {
      const status = error instanceof HttpErrorResponse ? error.status : 0;
      this.ownApiResult.set(`${url}: sent to ${sentTo}, HTTP ${status}`);
    }
  }

  protected switchSilentSignIn(on: boolean): void {
    switchDemoSilentSignIn(on);
    location.reload();
  }

  protected switchSessionMonitor(on: boolean): void {
    switchDemoSessionMonitor(on);
    location.reload();
  }

  protected switchDPoP(on: boolean): void {
    switchDemoDPoP(on);
    location.reload();
  }

  protected switchStrategy(strategy: DemoStrategy): void {
    switchDemoStrategy(strategy);
    location.reload();
  }
}
