import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/storage/index.js'
import { rejection } from '../../helpers/storage.js'
import { ids, now, range } from './builders.js'
import { useStorage, type SuiteContext } from './context.js'
import { recordsKit } from './records-kit.js'

/**
 * Users: created once per e-mail address, found by id and by e-mail.
 */

export function usersTests(ctx: SuiteContext): void {
  describe('users', () => {
    const db = useStorage(ctx)
    const { newUser } = recordsKit(db)

    it('creates a user and finds it by id and by e-mail', async () => {
      const email = `ada-${randomUUID()}@example.com`
      const at = now()
      const user = await db.storage.createUser({ email, password: 'secret-hash' }, at)
      expect(user).toEqual({ id: expect.any(String), email, password: 'secret-hash', createdAt: at })
      expect(user.id).not.toBe('')
      expect(await db.storage.getUser(user.id)).toEqual(user)
      expect(await db.storage.findUserByEmail(email)).toEqual(user)
    })

    it('gives every user its own id', async () => {
      const users = await Promise.all(range(1, 5).map(() => newUser()))
      expect(new Set(ids(users)).size).toBe(5)
    })

    it('returns undefined for unknown users', async () => {
      expect(await db.storage.getUser(randomUUID())).toBeUndefined()
      expect(await db.storage.findUserByEmail(`nobody-${randomUUID()}@example.com`)).toBeUndefined()
    })

    it('refuses a second user with the same e-mail: already-exists, translated from the driver', async () => {
      const email = `twice-${randomUUID()}@example.com`
      const first = await db.storage.createUser({ email, password: 'first' }, now())
      const error = await rejection(db.storage.createUser({ email, password: 'second' }, now()), 'already-exists')
      // The driver's error is kept as the cause for the logs, never as the message.
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause).not.toBeInstanceOf(StorageError)
      expect(error.message).not.toBe((error.cause as Error).message)
      expect(await db.storage.findUserByEmail(email)).toEqual(first)
    })

    it("replaces one user's password hash (setUserPassword), nobody else's; not-found for an unknown id", async () => {
      const [user, other] = await Promise.all([newUser(), newUser()])
      await db.storage.setUserPassword(user.id, 'new-hash')
      expect(await db.storage.getUser(user.id)).toEqual({ ...user, password: 'new-hash' })
      expect(await db.storage.getUser(other.id)).toEqual(other)
      await rejection(db.storage.setUserPassword(randomUUID(), 'new-hash'), 'not-found')
    })
  })
}
