#!/usr/bin/env node
// `npm start`: the dev OpenID Provider, the protected demo API and the demo app (ng serve),
// all in one command. Ctrl+C stops everything.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureNode22 } from './lib/run.mjs';

await ensureNode22(import.meta.url);

const root = fileURLToPath(new URL('..', import.meta.url));
const { startDevEnvironment } = await import('./dev-op/server.mjs');

let environment;
try {
  environment = await startDevEnvironment();
} catch (error) {
  console.error(`Could not start the dev OpenID Provider: ${error.message}`);
  process.exit(1);
}

const banner = `
  ngx-oidc-session demo
  ─────────────────────────────────────────────────────────────
  Demo app         http://localhost:4200
  OpenID Provider  ${environment.issuer}   (dev OP, in memory)
  Demo API         ${environment.apiUrl}/api/hello
  Sign in with any username and password, then grant consent.
  Ctrl+C stops everything.
`;

const serve = spawn('ng', ['serve', 'demo', '--port', '4200', '--host', 'localhost'], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'inherit'],
});
let announced = false;
serve.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /Local:|localhost:4200/.test(chunk.toString())) {
    announced = true;
    console.log(banner);
  }
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  serve.kill('SIGTERM');
  await environment.close();
  process.exit(code);
}
serve.on('close', (code) => stop(code ?? 0));
serve.on('error', (error) => {
  console.error(`Could not start ng serve: ${error.message}`);
  stop(1);
});
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
