// Small process helpers shared by the test, start and bench scripts.
import { spawn } from 'node:child_process';

/**
 * Runs a command, streaming its output (unless `quiet`), and resolves with its exit code and
 * captured output (with `capture`).
 * Commands are resolved on PATH, which `npm run` puts node_modules/.bin (and Node 22) in front of.
 */
export function run(command, args, { env = {}, cwd, capture = false, quiet = false, prefix } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const forward = (stream, target) => {
      stream.on('data', (chunk) => {
        const text = chunk.toString();
        if (capture) out += text;
        if (!quiet) target.write(prefix ? text.replace(/^(?=.)/gm, prefix) : text);
      });
    };
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on('error', (error) => {
      process.stderr.write(`could not start ${command}: ${error.message}\n`);
      resolve({ code: 127, out });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out }));
  });
}

/** Re-runs this script under the workspace's pinned Node 22 when started from an older Node. */
export async function ensureNode22(scriptUrl) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return;
  const { fileURLToPath } = await import('node:url');
  const { existsSync } = await import('node:fs');
  const node22 = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  if (!existsSync(node22)) {
    console.error('This workspace needs Node 22 from its devDependencies. Run `npm ci` first.');
    process.exit(1);
  }
  const bin = fileURLToPath(new URL('../../node_modules/.bin', import.meta.url));
  const child = spawn(node22, [fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  child.on('close', (code) => process.exit(code ?? 1));
  await new Promise(() => {}); // the child decides the exit code
}
