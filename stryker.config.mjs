// Mutation testing of the core rules (`npm run test:mutation`): the OTP lifecycle, send/verify/
// cancel, limits, the memory limiter and code hashing, against the unit tests and the SQLite e2e
// suites. `--mutate <file>` runs one file. Not part of CI: a full run takes tens of minutes.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { projectType: 'custom', configFile: 'stryker.jest.config.js', enableFindRelatedTests: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Only the app's sources: the client's generated schema.ts is compared byte for byte by a test.
  disableTypeChecks: 'src/**/*.ts',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10000,
  // Code run at start-up (module constants, an app's providers built in a beforeAll) would run every test per mutant.
  ignoreStatic: true,
  mutate: [
    'src/modules/otp/otp-state.ts',
    'src/modules/otp/otp.service.ts',
    'src/modules/otp/otp-code.ts',
    'src/modules/limits/limiter/memory-rate-limiter.ts',
    'src/modules/limits/limits.service.ts',
    'src/infra/secrets/secrets.ts',
  ],
  ignorePatterns: ['data', 'dist', 'coverage', 'reports', 'bench/results', '.ci/out', '*.tgz'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
