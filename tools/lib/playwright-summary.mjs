// A Playwright reporter for `npm test`'s summary: writes { passed, failed } to the file named
// by PLAYWRIGHT_SUMMARY_FILE. A test counts as passed only when it ran and passed; a test that
// failed, timed out, was skipped, was interrupted or never ran (a crash, a failed beforeAll)
// counts as failed, and so does a run that failed outside any test.
import { writeFileSync } from 'node:fs';

export default class SummaryReporter {
  tests = [];

  onBegin(_config, suite) {
    this.tests = suite.allTests();
  }

  onEnd(result) {
    const file = process.env.PLAYWRIGHT_SUMMARY_FILE;
    if (!file) return;
    const passed = this.tests.filter((test) => test.outcome() === 'expected' && test.results.at(-1)?.status === 'passed').length;
    let failed = this.tests.length - passed;
    const notes = [];
    if (this.tests.length === 0) notes.push('no test ran');
    if (result.status !== 'passed' && failed === 0) notes.push(`the run ended ${result.status}`);
    if (notes.length && failed === 0) failed = 1;
    writeFileSync(file, JSON.stringify({ passed, failed, ...(notes.length ? { note: notes.join('; ') } : {}) }));
  }

  printsToStdio() {
    return false;
  }
}
