import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'

/**
 * Checkouts of Roost the benchmark runs: this one, and with --baseline
 * another one (the code before a change, say a git worktree of the previous
 * commit), whose server the `@baseline` targets start from its own folder.
 */

/** Why `dir` cannot serve as a baseline, or undefined if it can. */
export function baselineProblem(dir: string): string | undefined {
  if (!existsSync(path.join(dir, 'src/index.ts'))) return `--baseline ${dir}: there is no src/index.ts (a checkout of Roost is needed)`
  // The server runs through the tsx loader resolved from its folder, with its own dependencies.
  if (!existsSync(path.join(dir, 'node_modules/tsx'))) return `--baseline ${dir}: there is no node_modules/tsx (install it, or symlink node_modules from this checkout)`
  return undefined
}

const git = (dir: string, args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()

/** "<short commit> on <branch> (<date>)", and whether tracked files differ from it; "unknown" outside git. */
export function checkoutVersion(dir: string): string {
  try {
    const [commit, date] = git(dir, ['log', '-1', '--format=%h %cs']).split(' ')
    const branch = git(dir, ['rev-parse', '--abbrev-ref', 'HEAD'])
    const changed = git(dir, ['status', '--porcelain', '--untracked-files=no']) !== ''
    return `${commit}${branch === 'HEAD' ? '' : ` on ${branch}`} (${date})${changed ? ' with uncommitted changes' : ''}`
  } catch {
    return 'unknown (not a git checkout)'
  }
}
