import { Component, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { AuthService } from 'ngx-oidc-session';
import { DEMO_API, DEV_OP } from './demo-settings';

@Component({
  selector: 'app-root',
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  template: `
    <header class="bar">
      <div class="brand">
        <span class="logo" aria-hidden="true">◆</span>
        <span>ngx-oidc-session <small>demo</small></span>
      </div>
      <nav>
        <a routerLink="/" routerLinkActive="active" [routerLinkActiveOptions]="{ exact: true }">Home</a>
        <a routerLink="/protected" routerLinkActive="active">Protected page</a>
      </nav>
      <span class="status" [attr.data-status]="auth.state().status" data-testid="status">{{ auth.state().status }}</span>
    </header>
    <main>
      <router-outlet />
    </main>
    <footer>
      Dev OpenID Provider at <code>{{ devOp }}</code> · demo API at <code>{{ demoApiOrigin }}</code> · sign in
      with any username and password.
    </footer>
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
  protected readonly devOp = DEV_OP;
  protected readonly demoApiOrigin = new URL(DEMO_API).origin;
}
