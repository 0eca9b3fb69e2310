import { Component, inject } from '@angular/core';
import { AuthService } from 'ngx-oidc-session';

@Component({
  selector: 'app-protected',
  template: `
    <section class="card narrow" data-testid="protected">
      <h2>Protected page</h2>
      <p>
        Only signed-in users get here. <code>authGuard</code> sent you to sign in if you were not, and brought you back to
        this very route.
      </p>
      <p>Hello, <strong>{{ auth.user()?.name ?? auth.user()?.sub }}</strong>.</p>
    </section>
  `,
})
export class ProtectedPage {
  protected readonly auth = inject(AuthService);
}
