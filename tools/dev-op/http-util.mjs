// Small HTTP helpers shared by the OP, the demo API and the look-alike server.
import { createServer } from 'node:http';

const MAX_BODY = 64 * 1024;

export async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw Object.assign(new Error('body must be a JSON object'), { status: 400 });
  }
}

export function sendJson(res, status, body, headers = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

/**
 * CORS response headers for an allowed browser origin; none for anyone else. `exposeDPoPNonce`
 * (the APIs) lets the app read the DPoP-Nonce header, which a browser hides otherwise.
 */
export function corsHeaders(origin, allowedOrigins, { exposeDPoPNonce = false } = {}) {
  if (!origin || !allowedOrigins.has(origin)) return { Vary: 'Origin' };
  return {
    Vary: 'Origin',
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': exposeDPoPNonce ? 'WWW-Authenticate, DPoP-Nonce' : 'WWW-Authenticate',
  };
}

/** The APIs' preflight answer: the DPoP proof header is allowed beside Authorization (RFC 9449 7). */
export function preflightHeaders(origin, allowedOrigins) {
  if (!origin || !allowedOrigins.has(origin)) return { Vary: 'Origin' };
  return {
    ...corsHeaders(origin, allowedOrigins, { exposeDPoPNonce: true }),
    'Access-Control-Allow-Methods': 'GET, POST',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, DPoP',
    'Access-Control-Max-Age': '600',
  };
}

export class PortInUseError extends Error {
  constructor(port, label, options) {
    super(
      `port ${port} (${label}) is already in use; another dev OP may be running ` +
        '(stop it, or pick other ports)',
      options,
    );
    this.name = 'PortInUseError';
    this.code = 'EADDRINUSE';
    this.port = port;
  }
}

function listenOn(server, port, host) {
  return new Promise((resolve, reject) => {
    const onError = (error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Serves `handler` on 127.0.0.1 and, where the machine has IPv6, on ::1 as well: browsers may
 * resolve "localhost" to either, and an OP reachable on only one of them fails intermittently.
 */
export async function listen(handler, port, label) {
  const servers = [];
  const closeAll = () =>
    Promise.all(
      servers.map(
        (server) =>
          new Promise((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );

  for (const host of ['127.0.0.1', '::1']) {
    const server = createServer(handler);
    // Browsers keep connections open; a short idle timeout lets close() finish promptly.
    server.keepAliveTimeout = 2000;
    try {
      await listenOn(server, port, host);
      servers.push(server);
    } catch (error) {
      const ipv6Missing =
        host === '::1' && ['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL'].includes(error.code);
      if (ipv6Missing) continue;
      await closeAll();
      if (error.code === 'EADDRINUSE') throw new PortInUseError(port, label, { cause: error });
      throw error;
    }
  }
  return { close: closeAll };
}
