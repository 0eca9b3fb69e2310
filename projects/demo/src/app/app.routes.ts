import { Routes } from '@angular/router';
import { authGuard, authMatchGuard } from 'ngx-oidc-session';
import { HomePage } from './home.page';
import { ProtectedPage } from './protected.page';

export const routes: Routes = [
  { path: '', component: HomePage, title: 'ngx-oidc-session demo' },
  { path: 'protected', component: ProtectedPage, canActivate: [authGuard], title: 'Protected page' },
  // A members area that is not even matched for a signed-out user. Its guard sees every URL the
  // routes above did not take, crafted ones too (/.%2F%2Fevil.example): the return URL is safe.
  { path: '', canMatch: [authMatchGuard], children: [{ path: 'members', component: ProtectedPage, title: 'Members' }] },
  { path: '**', redirectTo: '' },
];
