import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { Component, inject, signal } from '@angular/core';
import { Routes } from '@angular/router';
import { authGuard } from 'ngx-oidc-session';
import { ProtectedPage } from './shared/compat-routes';
import { COMPAT_API } from './shared/compat-settings';

/**
 * The home page calls the API (in secureApis) while it renders, on the server as in the
 * browser. The server waits for the call before it sends the HTML, which shows the answer.
 */
@Component({
  selector: 'app-ssr-home',
  template: `<p id="home">Home</p><p>API while rendering: <span id="render-call">{{ renderCall() }}</span></p>`,
})
export class SsrHomePage {
  protected readonly renderCall = signal('pending');

  constructor() {
    inject(HttpClient)
      .get<{ sub: string }>(`${COMPAT_API}/hello`)
      .subscribe({
        next: (body) => this.renderCall.set(`200 for ${body.sub}`),
        error: (error: HttpErrorResponse) => this.renderCall.set(String(error.status)),
      });
  }
}

export const ssrRoutes: Routes = [
  { path: '', component: SsrHomePage },
  { path: 'protected', component: ProtectedPage, canActivate: [authGuard] },
  { path: '**', redirectTo: '' },
];
