// What every variant of the bench app shares: the root component, the one route, and where
// the dev OP and the API live. Only the auth wiring and the home page differ per library, so
// the difference between two builds is the library's cost.
import { Component, EnvironmentProviders, inject, Provider, signal, Type } from '@angular/core';
import { HttpClient } from '@angular/common/http';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideRouter, RouterOutlet } from '@angular/router';

export const AUTHORITY = 'http://localhost:4400';
export const CLIENT_ID = 'ngx-oidc-demo';
export const API = 'http://localhost:4500/api';
export const SCOPE = 'openid profile email offline_access';

@Component({
  selector: 'bench-root',
  imports: [RouterOutlet],
  template: '<h1>Bench app</h1><router-outlet />',
})
class Shell {}

/** Boots the shell with one routed page and the variant's providers. */
export function bootBenchApp(home: Type<unknown>, providers: (Provider | EnvironmentProviders)[]): void {
  // A failed start surfaces as an unhandled rejection in the browser console.
  void bootstrapApplication(Shell, { providers: [provideRouter([{ path: '', component: home }]), ...providers] });
}

/** The part of every home page that calls the API through HttpClient (and so its interceptor). */
export abstract class CallsApi {
  private readonly http = inject(HttpClient);
  protected readonly answer = signal('');
  protected callApi(): void {
    this.http.get(`${API}/hello`).subscribe({ next: (body) => this.answer.set(JSON.stringify(body)) });
  }
}
