import { Component, inject } from '@angular/core';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { AuthService } from 'ngx-oidc-session';

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
      Dev OpenID Provider at <code>http://localhost:4400</code> · demo API at <code>http://localhost:4500</code> · sign in
      with any username and password.
    </footer>
  `,
})
export class App {
  protected readonly auth = inject(AuthService);
}
