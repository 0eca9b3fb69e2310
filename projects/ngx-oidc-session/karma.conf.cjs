// Karma for the library's unit specs: headless Chromium, and a summary file that
// tools/test.mjs adds to the total. The Chromium path and flags live in tools/lib/chromium.mjs.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const summaryFile = process.env.KARMA_SUMMARY_FILE;

function SummaryReporter(baseReporterDecorator) {
  baseReporterDecorator(this);
  let passed = 0;
  let failed = 0;
  this.onSpecComplete = (_browser, result) => {
    if (result.skipped || result.pending) failed++; // a skipped spec is a failure here: no skipped tests
    else if (result.success) passed++;
    else failed++;
  };
  this.onRunComplete = (_browsers, results) => {
    if (results.error) failed++;
    if (summaryFile) {
      mkdirSync(path.dirname(summaryFile), { recursive: true });
      writeFileSync(summaryFile, JSON.stringify({ passed, failed }));
    }
  };
  this.adapters = [];
}
SummaryReporter.$inject = ['baseReporterDecorator'];

module.exports = function (config) {
  config.set({
    basePath: '',
    frameworks: ['jasmine'],
    plugins: [
      require('karma-jasmine'),
      require('karma-chrome-launcher'),
      { 'reporter:summary': ['type', SummaryReporter] },
    ],
    client: {
      // A spec's time limit guards against a hang, it is no speed check (speed is measured in
      // bench/): npm test runs the e2e suite beside this one on 2 cores, where a spec that loads
      // an app several times took over Jasmine's default 5 s.
      jasmine: { random: true, timeoutInterval: 15_000 },
      clearContext: false,
    },
    reporters: ['dots', 'summary'],
    customLaunchers: {
      ChromiumHeadlessCI: {
        base: 'ChromeHeadless',
        flags: (process.env.CHROMIUM_FLAGS || '--no-sandbox --disable-gpu --disable-dev-shm-usage').split(' '),
      },
    },
    browsers: ['ChromiumHeadlessCI'],
    singleRun: true,
    restartOnFileChange: false,
    browserNoActivityTimeout: 60000,
  });
};
