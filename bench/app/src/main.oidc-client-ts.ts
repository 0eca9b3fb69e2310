// oidc-client-ts behind the minimal Angular service an app has to write for it: code + PKCE,
// automatic renewal (refresh tokens when issued), the sign-in callback at start-up and an
// interceptor for one API origin.
import { Component, inject, Injectable, provideAppInitializer, signal } from '@angular/core';
import { HttpInterceptorFn, provideHttpClient, withInterceptors } from '@angular/common/http';
import { from, switchMap } from 'rxjs';
import { User, UserManager } from 'oidc-client-ts';
import { API, AUTHORITY, bootBenchApp, CallsApi, CLIENT_ID, SCOPE } from './shell';

@Injectable({ providedIn: 'root' })
class OidcAuth {
  readonly manager = new UserManager({
    authority: AUTHORITY,
    client_id: CLIENT_ID,
    redirect_uri: window.location.origin + '/',
    post_logout_redirect_uri: window.location.origin + '/',
    scope: SCOPE,
    automaticSilentRenew: true,
  });
  readonly user = signal<User | null>(null);

  constructor() {
    this.manager.events.addUserLoaded((user) => this.user.set(user));
    this.manager.events.addUserUnloaded(() => this.user.set(null));
  }

  async start(): Promise<void> {
    const url = new URL(window.location.href);
    if (url.searchParams.has('code') || url.searchParams.has('error')) {
      await this.manager.signinRedirectCallback();
      window.history.replaceState(null, '', url.pathname);
    }
    this.user.set(await this.manager.getUser());
  }
}

const apiInterceptor: HttpInterceptorFn = (request, next) => {
  if (!request.url.startsWith(`${API}/`)) return next(request);
  return from(inject(OidcAuth).manager.getUser()).pipe(
    switchMap((user) =>
      next(user && !user.expired ? request.clone({ setHeaders: { Authorization: `Bearer ${user.access_token}` } }) : request),
    ),
  );
};

@Component({
  selector: 'bench-home',
  template: `
    <p>{{ auth.user() ? 'Signed in as ' + auth.user()?.profile?.name : 'Signed out' }}</p>
    <button type="button" (click)="auth.manager.signinRedirect()">Sign in</button>
    <button type="button" (click)="auth.manager.signoutRedirect()">Sign out</button>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
  protected readonly auth = inject(OidcAuth);
}

bootBenchApp(Home, [
  provideHttpClient(withInterceptors([apiInterceptor])),
  provideAppInitializer(() => inject(OidcAuth).start()),
]);
