/**
 * Four projects: unit tests once, the e2e suite twice — on the embedded default (SQLite,
 * in-process queue and limiter) and on MariaDB + Redis/BullMQ — each test file in a database it
 * creates and drops, and the OTP, limits and delivery e2e tests once more with Redis a Cluster of
 * three masters that the project starts (with a failover test). Type checking is `tsc --noEmit`'s
 * job; jest only transpiles.
 */
const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
};

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'sqlite',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/driver-sqlite.ts'],
    },
    {
      ...base,
      displayName: 'mysql',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/support/driver-mysql.ts'],
    },
    {
      ...base,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/e2e/{otp,limits,delivery}.e2e-spec.ts', '<rootDir>/test/cluster/**/*.cluster-spec.ts'],
      setupFiles: ['<rootDir>/test/support/driver-cluster.ts'],
      globalSetup: '<rootDir>/test/support/cluster-setup.ts',
      globalTeardown: '<rootDir>/test/support/cluster-teardown.ts',
    },
  ],
};
