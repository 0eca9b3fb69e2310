import { bootstrapApplication } from '@angular/platform-browser';
import { appConfig } from './app/app.config';
import { CompatApp } from './app/shared/compat-app';

bootstrapApplication(CompatApp, appConfig).catch((error: unknown) => {
  // eslint-disable-next-line no-console
  console.error(error);
});
