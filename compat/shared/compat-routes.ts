import { Component, inject } from '@angular/core';
import { Routes } from '@angular/router';
import { AuthService, authGuard } from 'ngx-oidc-session';

@Component({
  selector: 'app-protected',
  template: `<p id="protected">Protected content for {{ auth.user()?.sub }}</p>`,
})
export class ProtectedPage {
  protected readonly auth = inject(AuthService);
}

@Component({ selector: 'app-home', template: `<p id="home">Home</p>` })
export class HomePage {}

export const compatRoutes: Routes = [
  { path: '', component: HomePage },
  { path: 'protected', component: ProtectedPage, canActivate: [authGuard] },
  { path: '**', redirectTo: '' },
];
