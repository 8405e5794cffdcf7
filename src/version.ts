import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The server's version, from its package.json: the nearest one above this
 * file, which is `../package.json` from src/ (tsx) and `../../package.json`
 * from lib/src/ (compiled).
 */
function readVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = path.join(dir, 'package.json')
    if (existsSync(file)) return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version ?? '0.0.0')
    const parent = path.dirname(dir)
    if (parent === dir) return '0.0.0'
    dir = parent
  }
}

export const SERVER_VERSION = readVersion()
