/**
 * The long fuzz run: test/fuzz/fuzz.test.ts's generated calls, many more of
 * them, on SQLite and PostgreSQL, over REST and socket.io.
 *
 *   npm run fuzz                          # a random seed, 2000 calls per transport and backend
 *   npm run fuzz -- --seed 42 --runs 5000 # replay or extend a run
 *   npm run fuzz -- --stats               # also print which statuses each method answered
 *   npm run fuzz -- --skip-examples sign-in # leave out fixed examples matching a regex (a known open failure)
 *
 * FUZZ_SEED and FUZZ_RUNS in the environment work too (the flags win). The
 * seed is printed before and after, so a failure can be replayed; fast-check
 * prints the shrunk counterexample and its path.
 */
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'

const flag = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 ? process.argv[index + 1] : undefined
}

const seed = flag('seed') ?? process.env.FUZZ_SEED ?? String(randomInt(2 ** 31))
const runs = flag('runs') ?? process.env.FUZZ_RUNS ?? '2000'
if (!/^\d+$/.test(seed) || !/^\d+$/.test(runs)) {
  console.error('usage: npm run fuzz -- [--seed <integer>] [--runs <integer>] [--stats]')
  process.exit(2)
}

console.log(`fuzz: seed ${seed}, ${runs} generated calls per transport and backend`)
const result = spawnSync('node_modules/.bin/vitest', ['run', 'test/fuzz/fuzz.test.ts', '-t', 'generated calls'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_SEED: seed, FUZZ_RUNS: runs, ...(process.argv.includes('--stats') ? { FUZZ_STATS: '1' } : {}),
    ...(flag('skip-examples') !== undefined ? { FUZZ_SKIP_EXAMPLES: flag('skip-examples') } : {})
  }
})
console.log(`fuzz: ${result.status === 0 ? 'passed' : 'FAILED'} with seed ${seed} (replay: npm run fuzz -- --seed ${seed} --runs ${runs})`)
process.exit(result.status ?? 1)
