import { AsyncPipe } from '@angular/common';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Component, VERSION, inject, signal } from '@angular/core';
import { RouterLink, RouterOutlet } from '@angular/router';
import { AuthService } from 'ngx-oidc-session';
import { filter, scan, startWith } from 'rxjs';
import { COMPAT_API } from './compat-settings';

/**
 * The compat apps' one screen, the same source in every major: the auth state (a signal),
 * the renewals seen (an observable through the async pipe) and the result of an API call
 * (a signal set from a subscription), so the page shows whether the app's change detection,
 * zone.js or zoneless, follows the library.
 */
@Component({
  selector: 'app-root',
  imports: [AsyncPipe, RouterLink, RouterOutlet],
  template: `
    <p>
      Angular <span id="angular-version">{{ version }}</span>,
      <span id="change-detection">{{ changeDetection }}</span> change detection
    </p>
    <p>Status: <span id="status">{{ auth.state().status }}</span> <span id="user">{{ auth.user()?.sub }}</span></p>
    <p>Renewals: <span id="renewals">{{ renewals$ | async }}</span></p>
    <button type="button" id="sign-in" (click)="auth.login()">Sign in</button>
    <button type="button" id="call-api" (click)="callApi()">Call the API</button>
    <p>API: <span id="api-status">{{ apiStatus() }}</span></p>
    <a id="to-protected" routerLink="/protected">Protected page</a>
    <router-outlet />
  `,
})
export class CompatApp {
  protected readonly auth = inject(AuthService);
  private readonly http = inject(HttpClient);
  protected readonly version = VERSION.full;
  protected readonly changeDetection = 'Zone' in globalThis ? 'zone.js' : 'zoneless';
  protected readonly renewals$ = this.auth.events$.pipe(
    filter((event) => event.type === 'token_renewed'),
    scan((count) => count + 1, 0),
    startWith(0),
  );
  protected readonly apiStatus = signal('not called');

  protected callApi(): void {
    this.apiStatus.set('calling');
    this.http.get<{ sub: string }>(`${COMPAT_API}/hello`).subscribe({
      next: (body) => this.apiStatus.set(`200 for ${body.sub}`),
      error: (error: HttpErrorResponse) => this.apiStatus.set(String(error.status)),
    });
  }
}
