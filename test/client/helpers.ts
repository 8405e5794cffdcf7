import { randomBytes } from 'node:crypto'
import { createRoost, signUp, type Roost, type RoostOptions } from '../../src/client/index.js'

export const newEmail = () => `client-${randomBytes(5).toString('hex')}@example.com`
export const newId = (prefix = 'c') => `${prefix}-${randomBytes(6).toString('hex')}`
export const PASSWORD = 'a long enough password'

/** A new account on the server: its credentials. */
export async function account(url: string) {
  const email = newEmail()
  const user = await signUp(url, email, PASSWORD)
  return { email, password: PASSWORD, userId: user.id }
}

/** Clients opened by a test, closed after it. */
export class Clients {
  private open: Roost[] = []

  create(options: RoostOptions): Roost {
    const roost = createRoost({ retry: { baseMs: 50, maxMs: 500 }, pollIntervalMs: 500, ...options })
    this.open.push(roost)
    return roost
  }

  async closeAll() {
    await Promise.all(this.open.map((roost) => roost.close().catch(() => undefined)))
    this.open = []
  }
}

/** Waits until `predicate` holds, polling (for what arrives asynchronously). */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
