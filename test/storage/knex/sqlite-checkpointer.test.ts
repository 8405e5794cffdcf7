import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { createStorage, type Storage } from '../../../src/storage/index.js'

/**
 * SQLite's own checkpoints are pushed out to 10,000 pages of log (40 MB); the
 * background checkpointer (src/storage/knex/shortcuts/sqlite-checkpointer.ts, on with the shortcuts) must still
 * copy committed pages into the database file within a second or so.
 */
describe('SQLite background checkpoints', () => {
  let dir: string | undefined
  let storage: Storage | undefined

  afterEach(async () => {
    await storage?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('moves committed pages from the log into the database file without a write asking for it', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'roost-checkpoint-'))
    const file = path.join(dir, 'roost.sqlite')
    storage = createStorage(`sqlite:${file}`, dir, { shortcuts: true })
    await storage.migrate()
    const at = new Date().toISOString()
    const user = await storage.createUser({ email: 'checkpoint@example.com', password: 'x' }, at)
    await storage.createCollection({ id: 'c', name: null, ownerId: user.id }, at)
    const sizeBefore = statSync(file).size
    // About 2 MB of records: far below SQLite's own (raised) checkpoint threshold.
    for (let chunk = 0; chunk < 8; chunk++) {
      const writes = Array.from({ length: 500 }, (_, index) => ({
        op: 'create' as const,
        collectionId: 'c',
        id: `r${chunk}-${index}`,
        data: { text: 'x'.repeat(400) }
      }))
      await storage.commitWrites(writes, { actor: user.id, at })
    }
    let grown = false
    for (let waited = 0; waited < 5_000 && !grown; waited += 100) {
      await sleep(100)
      grown = statSync(file).size > sizeBefore + 1_000_000
    }
    expect(grown).toBe(true)
    expect((await storage.changesSince('c', { since: 0, limit: 10 })).changes).toHaveLength(10)
  })
})
