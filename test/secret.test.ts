import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadOrCreateSecret } from '../src/secret.js'

describe('loadOrCreateSecret', () => {
  let dir: string
  const file = () => path.join(dir, 'auth-secret')
  const mode = (target: string) => statSync(target).mode & 0o777

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'roost-secret-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('generates a long random secret on first start, in a file only the owner can read', () => {
    const secret = loadOrCreateSecret('', dir)
    expect(secret.length).toBeGreaterThanOrEqual(32)
    expect(secret).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(readFileSync(file(), 'utf8').trim()).toBe(secret)
    expect(mode(file())).toBe(0o600)
  })

  it('returns the same secret on the next start', () => {
    const first = loadOrCreateSecret('', dir)
    expect(loadOrCreateSecret('', dir)).toBe(first)
    expect(loadOrCreateSecret('', dir)).toBe(first)
  })

  it('generates a different secret in another data folder', () => {
    const other = mkdtempSync(path.join(tmpdir(), 'roost-secret-'))
    try {
      expect(loadOrCreateSecret('', other)).not.toBe(loadOrCreateSecret('', dir))
    } finally {
      rmSync(other, { recursive: true, force: true })
    }
  })

  it('creates a missing data folder, readable by the owner only', () => {
    const nested = path.join(dir, 'not', 'yet')
    const secret = loadOrCreateSecret('', nested)
    expect(readFileSync(path.join(nested, 'auth-secret'), 'utf8').trim()).toBe(secret)
    expect(mode(nested)).toBe(0o700)
  })

  it('uses a configured secret as it is and writes no file', () => {
    const configured = 'configured-secret-that-is-long-enough-0123456789'
    expect(loadOrCreateSecret(configured, dir)).toBe(configured)
    expect(existsSync(file())).toBe(false)
  })

  it('prefers the configured secret over a stored one', () => {
    loadOrCreateSecret('', dir)
    expect(loadOrCreateSecret('from-the-environment-0123456789-abcdef', dir)).toBe('from-the-environment-0123456789-abcdef')
  })

  it('tightens the mode of a stored secret that others could read', () => {
    const stored = 'x'.repeat(48)
    writeFileSync(file(), `${stored}\n`)
    chmodSync(file(), 0o644)
    expect(loadOrCreateSecret('', dir)).toBe(stored)
    expect(mode(file())).toBe(0o600)
  })

  it('never uses a stored secret shorter than 32 characters: it refuses, naming the file', () => {
    for (const weak of ['', 'short', 'y'.repeat(31)]) {
      writeFileSync(file(), `${weak}\n`, { mode: 0o600 })
      expect(() => loadOrCreateSecret('', dir), JSON.stringify(weak)).toThrow(/auth-secret holds no usable secret.*AUTH_SECRET/)
      // Left for the operator to look at, not silently replaced.
      expect(readFileSync(file(), 'utf8')).toBe(`${weak}\n`)
      rmSync(file())
    }
  })
})
