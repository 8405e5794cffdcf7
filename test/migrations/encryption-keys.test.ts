import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { migrationSource } from '../../migrations/index.js'
import { createStorage } from '../../src/storage/index.js'
import { knexConfig } from '../../src/storage/knex/connection.js'
import { describeSqlBackends, type TestDatabase } from '../helpers/backends.js'

/**
 * Upgrading a database made before encryption keys: its collections are
 * unencrypted (no epochs), its pending invitations carry no keys and can
 * still be accepted, and its users have no public key until they set one.
 * The migration also rolls back.
 */
describeSqlBackends('migration: encryption keys', (backend) => {
  let database: TestDatabase
  let db: Knex

  beforeAll(async () => {
    database = await backend.create()
    db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
  })
  afterAll(async () => {
    await db?.destroy()
    await database?.cleanup()
  })

  it('leaves existing collections unencrypted and invitations without keys; rolls back', async () => {
    // The schema as the release before this one left it.
    const before = ['20261124000000_initial', '20261124000001_batches_and_idempotency', '20261124000002_locks', '20261124000003_sharing', '20261202000000_record_idempotency_keys']
    for (const name of before) await db.migrate.up({ migrationSource, name })
    const at = '2026-01-01T00:00:00.000Z'
    const ada = '00000000-0000-4000-8000-00000000000a'
    const bob = '00000000-0000-4000-8000-00000000000b'
    await db('users').insert([
      { id: ada, email: 'ada@example.com', password: 'x', created_at: at },
      { id: bob, email: 'bob@example.com', password: 'x', created_at: at }
    ])
    await db('collections').insert({ id: 'adas', name: null, owner_id: ada, epoch: 'e1', seq: 0, created_at: at, updated_at: at })
    await db('members').insert({ collection_id: 'adas', user_id: ada, role: 'owner', created_at: at, updated_at: at })
    await db('invitations').insert({
      id: 'inv-1',
      collection_id: 'adas',
      role: 'reader',
      invitee_user_id: bob,
      invitee_email: null,
      invited_by: ada,
      status: 'pending',
      created_at: at,
      expires_at: '2027-01-01T00:00:00.000Z',
      answered_at: null
    })
    await db.destroy()

    const storage = createStorage(database.databaseUrl, database.dataDir)
    try {
      await storage.migrate()
      const later = '2026-01-02T00:00:00.000Z'
      expect(await storage.getInvitation('inv-1', later)).toMatchObject({ status: 'pending', keyEpochs: [] })
      expect(await storage.listKeyEpochs('adas', ada)).toEqual([])
      expect(await storage.getUserKey(bob)).toBeUndefined()
      await storage.answerInvitation({ id: 'inv-1', answer: 'accepted', userId: bob, at: later })
      expect(await storage.getMember('adas', bob)).toMatchObject({ role: 'reader' })
      await storage.putUserKey({ userId: ada, publicKey: 'p'.repeat(43), baseKeyVersion: 0, at: later })
      await storage.createKeyEpoch({ collectionId: 'adas', epoch: 1, keys: [{ userId: ada, keyVersion: 1, wrappedKey: { v: 1 } }], actorId: ada, at: later })
      expect((await storage.listKeyEpochs('adas', ada)).map((row) => row.epoch)).toEqual([1])
    } finally {
      await storage.close()
      db = knex(knexConfig(database.databaseUrl, database.dataDir).config)
    }

    await db.migrate.down({ migrationSource, name: '20261203000000_encryption_keys' })
    for (const table of ['user_keys', 'key_epochs', 'collection_keys']) expect(await db.schema.hasTable(table)).toBe(false)
    expect(await db.schema.hasColumn('invitations', 'keys')).toBe(false)
    expect(await db('invitations').where({ id: 'inv-1' }).first()).toMatchObject({ status: 'accepted' })
  })
})
