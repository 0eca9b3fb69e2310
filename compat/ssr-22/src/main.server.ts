import { BootstrapContext, bootstrapApplication } from '@angular/platform-browser';
import { config } from './app/app.config.server';
import { CompatApp } from './app/shared/compat-app';

const bootstrap = (context: BootstrapContext) => bootstrapApplication(CompatApp, config, context);

export default bootstrap;
