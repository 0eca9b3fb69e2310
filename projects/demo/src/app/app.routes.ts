import { Routes } from '@angular/router';
import { authGuard } from 'ngx-oidc-session';
import { HomePage } from './home.page';
import { ProtectedPage } from './protected.page';

export const routes: Routes = [
  { path: '', component: HomePage, title: 'ngx-oidc-session demo' },
  { path: 'protected', component: ProtectedPage, canActivate: [authGuard], title: 'Protected page' },
  { path: '**', redirectTo: '' },
];
