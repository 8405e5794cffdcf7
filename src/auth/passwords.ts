import { randomBytes } from 'node:crypto'
import { hash as argon2Hash, parseOptions, verify as argon2Verify } from '@node-rs/argon2'
import { verify as bcryptVerify } from '@node-rs/bcrypt'
import { hashingSlots, Slots } from './slots.js'

/** Cost of new hashes: argon2id with this much memory (KiB) and this many passes. */
export interface PasswordCost {
  memoryCost: number
  timeCost: number
}

export interface Verification {
  /** The password matches the hash. */
  matches: boolean
  /** It matches, but the hash is not argon2id at the current cost: store a new one. */
  outdated: boolean
}

/** Hashes written by bcryptjs (through @feathersjs/authentication-local) before argon2id. */
const BCRYPT = /^\$2[aby]\$\d\d\$/
const ARGON2ID = /^\$argon2id\$/
/**
 * `Algorithm.Argon2id`: the package declares its enum `const`, which
 * type-stripping compilers (esbuild under vitest, tsx) cannot inline, and its
 * runtime object is empty, so the number is spelled out.
 */
const ARGON2ID_ALGORITHM = 2

/**
 * Password hashing for accounts. argon2id for every new hash; bcrypt hashes
 * from older versions still verify (and are reported outdated, so sign-in
 * replaces them). Both libraries are native and run on libuv's thread pool,
 * so hashing never blocks the event loop: other users' requests go on while
 * a sign-in is checked.
 */
export class Passwords {
  private dummy: Promise<string> | undefined

  constructor(
    private readonly cost: PasswordCost,
    private readonly slots = new Slots(hashingSlots())
  ) {}

  hash(password: string): Promise<string> {
    return this.slots.run(() => argon2Hash(password, { algorithm: ARGON2ID_ALGORITHM, memoryCost: this.cost.memoryCost, timeCost: this.cost.timeCost }))
  }

  async verify(stored: string, password: string): Promise<Verification> {
    if (ARGON2ID.test(stored)) {
      const matches = await this.slots.run(() => argon2Verify(stored, password)).catch(() => false)
      return { matches, outdated: matches && !this.isCurrent(stored) }
    }
    if (BCRYPT.test(stored)) {
      const matches = await this.slots.run(() => bcryptVerify(password, stored)).catch(() => false)
      return { matches, outdated: matches }
    }
    return { matches: false, outdated: false }
  }

  /**
   * The same work as checking a real account, for an address that has none:
   * without it, "no such account" answers in a millisecond and "wrong
   * password" in a full hash, and the difference tells who has an account.
   * The dummy hash is made once, at the current cost, of a password nobody knows.
   */
  async verifyNobody(password: string): Promise<false> {
    const dummy = await this.prepare()
    await this.slots.run(() => argon2Verify(dummy, password)).catch(() => false)
    return false
  }

  /** The dummy hash, made on first use (or ahead, at start). */
  prepare(): Promise<string> {
    this.dummy ??= this.hash(randomBytes(32).toString('base64'))
    return this.dummy
  }

  private isCurrent(stored: string): boolean {
    try {
      const options = parseOptions(stored)
      return options.memoryCost === this.cost.memoryCost && options.timeCost === this.cost.timeCost
    } catch {
      return false
    }
  }
}
