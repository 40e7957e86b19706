/** @type {import('jest').Config} */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] };
const common = { transform, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  // jest reads testTimeout here, not per project: hooks that start balancers and brokers need it.
  testTimeout: 120_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testTimeout: 60_000, testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/sim/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testTimeout: 120_000, testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
