import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { App } from './app/app';

bootstrapApplication(App, appConfig).catch((error: unknown) => {
  // A config error (AuthError config_invalid) lands here: show it to the developer.
  // eslint-disable-next-line no-console
  console.error(error);
});
