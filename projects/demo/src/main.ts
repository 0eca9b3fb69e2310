import { bootstrapApplication } from '@angular/platform-browser';
import { isAuthError } from 'ngx-oidc-session';
import { appConfig } from './app/app.config';
import { App } from './app/app';

bootstrapApplication(App, appConfig).catch((error: unknown) => {
  // A config error (AuthError config_invalid) lands here: show it to the developer.
  // eslint-disable-next-line no-console
  console.error(error);
  // And in the page: the app did not start, so nothing else would show why.
  const shown = document.createElement('p');
  shown.className = 'error';
  shown.dataset['testid'] = 'start-error';
  shown.textContent = isAuthError(error)
    ? `${error.message} (${error.details.configKey ?? 'no config key'})`
    : 'The app failed to start: see the console.';
  document.body.append(shown);
});
