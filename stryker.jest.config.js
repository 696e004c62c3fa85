/**
 * Jest as the mutation run sees it: the unit tests and the e2e suites on the embedded default
 * (SQLite, in-process queue and limiter) that exercise the mutated files, as one project, so
 * that per-test coverage applies to every file. `MUTATION_E2E` (a glob of e2e file names)
 * narrows or widens the e2e part
 * (`MUTATION_E2E=none`: unit tests only, for the pure files).
 */
const base = require('./jest.config.js');
const unit = base.projects.find((project) => project.displayName === 'unit');
const e2e = process.env.MUTATION_E2E ?? '{otp,otp-rules,otp-instants,limits,idempotency,test-mode,destination-controls}';

module.exports = {
  ...unit,
  displayName: undefined,
  testTimeout: base.testTimeout,
  testMatch: ['<rootDir>/test/unit/**/*.spec.ts', `<rootDir>/test/e2e/${e2e}.e2e-spec.ts`],
  setupFiles: ['<rootDir>/test/support/driver-sqlite.ts'],
};
