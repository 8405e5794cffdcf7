import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every behavioural test runs against real SQLite and PostgreSQL through a
    // listening server; give the slow ones (concurrency) room without hiding hangs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test files spend their time waiting on servers, sockets and
    // databases, so two files at once pay off even on two cores (Vitest's
    // default, one less than the cores, would run them one at a time there).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ['default'],
    env: { NODE_ENV: 'test' }
  }
})
