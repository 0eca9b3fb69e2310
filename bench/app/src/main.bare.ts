// The app without auth: the baseline every library's cost is measured against.
import { Component } from '@angular/core';
import { provideHttpClient } from '@angular/common/http';
import { bootBenchApp, CallsApi } from './shell';

@Component({
  selector: 'bench-home',
  template: `
    <p>Signed out (no auth in this build)</p>
    <button type="button" (click)="callApi()">Call the API</button>
    <pre>{{ answer() }}</pre>
  `,
})
class Home extends CallsApi {
}

bootBenchApp(Home, [provideHttpClient()]);
