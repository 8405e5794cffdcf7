import { describe } from 'vitest'
import { batchesTests } from './batches.js'
import { collectionsTests } from './collections.js'
import { dashboardTests } from './dashboard.js'
import type { Capabilities, StorageFactory } from './context.js'
import { feedTests } from './feed.js'
import { findRecordsTests } from './find-records.js'
import { idempotencyTests } from './idempotency.js'
import { invitationsTests } from './invitations.js'
import { keysTests } from './keys.js'
import { locksTests } from './locks.js'
import { membersTests } from './members.js'
import { racesTests } from './races.js'
import { recordKeysTests } from './record-keys.js'
import { recordRacesTests } from './record-races.js'
import { recordsTests } from './records.js'
import { restoreTests } from './restore.js'
import { schemaTests } from './schema.js'
import { usersTests } from './users.js'

export type { Capabilities, StorageFactory } from './context.js'

/**
 * The storage conformance suite: the behaviour every backend of the storage
 * port (src/storage/port.ts) must have, exercised through that port only, one
 * file per concern. A backend binds it in a few lines (test/storage/<backend>.test.ts),
 * once with its speed-ups and once without, so the plain path is the checked
 * reference and every shortcut is checked against it. A new backend is done
 * when this passes against it unchanged.
 *
 * Each concern gets a fresh database of its own from `factory`.
 */
export function registerStorageTests(title: string, factory: StorageFactory, capabilities: Capabilities): void {
  describe(title, () => {
    const context = { factory, capabilities }
    schemaTests(context)
    usersTests(context)
    collectionsTests(context)
    recordsTests(context)
    findRecordsTests(context)
    feedTests(context)
    recordRacesTests(context)
    recordKeysTests(context)
    batchesTests(context)
    idempotencyTests(context)
    locksTests(context)
    membersTests(context)
    invitationsTests(context)
    racesTests(context)
    keysTests(context)
    dashboardTests(context)
    restoreTests(context)
  })
}
