import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * The JWT signing secret: the configured one (AUTH_SECRET), or else one
 * generated on first start and kept in the data folder, readable by the owner
 * only. Roost never ships a built-in secret.
 */
export function loadOrCreateSecret(configured: string, dataDir: string): string {
  if (configured !== '') return configured
  const file = path.resolve(dataDir, 'auth-secret')
  try {
    const existing = readFileSync(file, 'utf8').trim()
    if (existing.length >= 32) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
      return existing
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const secret = randomBytes(48).toString('base64url')
  // 'wx' fails if another process created it meanwhile; then use theirs.
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // Another process created it meanwhile: use theirs, but never a short (weak or empty) one.
    const theirs = readFileSync(file, 'utf8').trim()
    if (theirs.length < 32) {
      throw new Error(`${file} holds no usable secret (fewer than 32 characters): delete it to have one generated, or set AUTH_SECRET`)
    }
    return theirs
  }
  return secret
}
