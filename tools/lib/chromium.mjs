// Finds a Chromium (or Chrome) binary for Karma and Playwright, or explains how to get one.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Flags that make headless Chromium work as root, in containers and on a closed network. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-default-apps',
];

export class ChromiumNotFoundError extends Error {}

export function findChromium() {
  const fromEnv = process.env.CHROME_BIN;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new ChromiumNotFoundError(`CHROME_BIN is set to ${fromEnv}, but no file is there.`);
  }
  for (const candidate of CANDIDATES) {
    if (existsSync(candidate)) return candidate;
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const found = execFileSync('which', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (found) return found;
    } catch {
      // not on PATH; try the next name
    }
  }
  throw new ChromiumNotFoundError(
    'No Chromium found. Install it (Debian/Ubuntu: `sudo apt-get update && sudo apt-get install -y chromium`) ' +
      'or point CHROME_BIN at a Chrome/Chromium binary.',
  );
}
