import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every behavioural test runs against real SQLite and PostgreSQL through a
    // listening server; give the slow ones (concurrency) room without hiding hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    env: { NODE_ENV: 'test' }
  }
})
