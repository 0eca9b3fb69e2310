import { Component, inject, signal } from '@angular/core';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { JsonPipe } from '@angular/common';
import { injectAuth } from 'ngx-oidc-session';
import { firstValueFrom } from 'rxjs';
import { PARTNER_API, PARTNER_OP } from './demo-settings';

/**
 * The second OP of the demo (withName('partner')): signed in and out on its own, beside the
 * demo's own session, and its token goes to its own API only.
 */
@Component({
  selector: 'app-partner-op',
  imports: [JsonPipe],
  template: `
    <section class="card" data-testid="partner">
      <h2>Partner OP</h2>
      <p>
        A second OpenID Provider at <code>{{ op }}</code>, with its own session. Its token goes to
        <code>{{ api }}</code> only, the demo's token never does.
      </p>
      <p class="lead">
        <span data-testid="partner-status" [attr.data-status]="state().status">{{ state().status }}</span>
        @if (user(); as claims) {
          as <strong data-testid="partner-user">{{ claims.name ?? claims.sub }}</strong>
        }
      </p>
      <div class="actions">
        @if (state().status === 'authenticated') {
          <button type="button" class="secondary" (click)="partner.logout()" data-testid="partner-logout">Sign out of the partner OP</button>
        } @else {
          <button type="button" (click)="partner.login({ prompt: 'login' })" data-testid="partner-login">Sign in to the partner OP</button>
        }
        <button type="button" (click)="callApi()" data-testid="partner-call-api">Call the partner API</button>
      </div>
      @if (state().error; as error) {
        <p class="error" data-testid="partner-error"><code>{{ error.code }}</code> {{ error.message }}</p>
      }
      @if (result(); as result) {
        <div class="result" [class.ok]="result.status === 200" data-testid="partner-api-result">
          <div><strong data-testid="partner-api-status">{{ result.status }}</strong></div>
          <pre>{{ result.body | json }}</pre>
        </div>
      }
    </section>
  `,
})
export class PartnerOp {
  protected readonly partner = injectAuth('partner');
  private readonly http = inject(HttpClient);
  protected readonly op = PARTNER_OP;
  protected readonly api = PARTNER_API;
  protected readonly state = this.partner.state;
  protected readonly user = this.partner.user;
  protected readonly result = signal<{ status: number; body: unknown } | null>(null);

  protected async callApi(): Promise<void> {
    try {
      // The interceptor attaches the partner's token: PARTNER_API is in its secureApis.
      this.result.set({ status: 200, body: await firstValueFrom(this.http.get<unknown>(`${PARTNER_API}/hello`)) });
    } catch (error) {
      this.result.set({ status: error instanceof HttpErrorResponse ? error.status : 0, body: error instanceof HttpErrorResponse ? error.error : String(error) });
    }
  }
}
