// Serves a built Angular app (dist/<app>/browser) with the SPA fallback to index.html, at the
// site's root or under the base href the app was built with (`ng build --base-href /app/`).
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { listen, PortInUseError } from '../dev-op/http-util.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file under `root` a request path names, or null for a path that is malformed, leaves
 * root, or lies outside the app's base path.
 */
function fileFor(root, rawUrl, basePath) {
  let path;
  try {
    path = decodeURIComponent(new URL(rawUrl ?? '/', 'http://x').pathname);
  } catch {
    return null;
  }
  if (!path.startsWith(basePath)) return null;
  path = path.slice(basePath.length - 1);
  const base = normalize(root + sep);
  const file = normalize(join(base, path));
  return file === base.slice(0, -1) || file.startsWith(base) ? file : null;
}

/**
 * Starts the server on localhost (IPv4 and IPv6, as the dev OP); resolves to { url, close }.
 * `basePath` ('/app/') serves the app under that path only: everything else is a 404, as a
 * request the app should never make. `requestLog` (an array), when given, receives each
 * request's method, path and whether it carried an Authorization header (never its value).
 */
export async function serveStatic(root, { port = 4200, basePath = '/', requestLog } = {}) {
  if (!basePath.startsWith('/') || !basePath.endsWith('/')) throw new TypeError(`basePath must start and end with "/", got ${basePath}`);
  const handler = async (req, res) => {
    requestLog?.push({
      method: req.method,
      path: new URL(req.url ?? '/', 'http://x').pathname,
      hadAuthorization: req.headers.authorization !== undefined,
    });
    const file = fileFor(root, req.url, basePath);
    if (!file) {
      res.writeHead(basePath === '/' ? 400 : 404).end();
      return;
    }
    let target = file;
    try {
      if (!(await stat(target)).isFile()) throw new Error('not a file');
    } catch {
      // Unknown paths are app routes: the app's index.html renders them.
      target = join(root, 'index.html');
    }
    try {
      const body = await readFile(target);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(target)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  };
  try {
    const { close } = await listen(handler, port, 'app');
    return { url: `http://localhost:${port}${basePath}`, close };
  } catch (error) {
    if (error instanceof PortInUseError) throw new Error(`Port ${port} is in use: is \`npm start\` running? Stop it first.`, { cause: error });
    throw error;
  }
}
