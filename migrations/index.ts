import type { Knex } from 'knex'
import * as initial from './20261124000000_initial.js'
import * as batchesAndIdempotency from './20261124000001_batches_and_idempotency.js'
import * as locks from './20261124000002_locks.js'
import * as sharing from './20261124000003_sharing.js'
import * as recordIdempotencyKeys from './20261202000000_record_idempotency_keys.js'
import * as encryptionKeys from './20261203000000_encryption_keys.js'
import * as pendingIdempotencyKeys from './20261204180000_pending_idempotency_keys.js'

/**
 * The migrations, in order. They are listed here rather than discovered on
 * disk so that they work the same under tsx, vitest and the compiled build.
 * Add a new file as `YYYYMMDDHHMMSS_name.ts` and append it below.
 */
const migrations: Record<string, Knex.Migration> = {
  '20261124000000_initial': initial,
  '20261124000001_batches_and_idempotency': batchesAndIdempotency,
  '20261124000002_locks': locks,
  '20261124000003_sharing': sharing,
  '20261202000000_record_idempotency_keys': recordIdempotencyKeys,
  '20261203000000_encryption_keys': encryptionKeys,
  '20261204180000_pending_idempotency_keys': pendingIdempotencyKeys
}

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]
}
