// Preloaded into the SSR server by the ssr suite (node --import): any server code that reaches
// for a browser API leaves a "[tripwire]" line, with where it came from, on stderr. The globals
// a browser has and Node lacks read as undefined, as they would on a plain Node server; the
// browser APIs that Node does have (BroadcastChannel, navigator) are watched where the library
// uses them in a browser (cross-tab messages, Web Locks).
const report = (what) => {
  const where = new Error().stack.split('\n').slice(3, 7).join('\n');
  process.stderr.write(`[tripwire] browser API touched on the server: ${what}\n${where}\n`);
};

for (const name of ['window', 'document', 'location', 'history', 'localStorage', 'sessionStorage', 'indexedDB']) {
  if (name in globalThis) continue;
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      report(name);
      return undefined;
    },
  });
}

const NodeBroadcastChannel = globalThis.BroadcastChannel;
globalThis.BroadcastChannel = class extends NodeBroadcastChannel {
  constructor(...args) {
    report('BroadcastChannel');
    super(...args);
  }
};

if (globalThis.navigator) {
  Object.defineProperty(globalThis.navigator, 'locks', {
    configurable: true,
    get() {
      report('navigator.locks');
      return undefined;
    },
  });
}
