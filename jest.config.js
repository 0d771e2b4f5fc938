/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/tests/helpers/nodeRealmEnvironment.js',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  testTimeout: 120000,
  maxWorkers: 2,
};
