import type { Db } from 'mongodb'
import type { Logger } from '../../logger.js'
import { collectionsOf } from './mongo-collections.js'
import { createEncryptionIndexes, createIndexes } from './indexes.js'

/**
 * Versioned schema changes, as migrations/ is for SQL: each step runs once
 * per database, in order, and is recorded in `roost_migrations` when done.
 * Every step must be safe to run again (a crash between a step and its
 * record, or two instances starting together, runs it twice). Append new
 * steps; never edit a released one.
 */
export interface SchemaStep {
  version: number
  name: string
  apply(db: Db): Promise<void>
}

export const SCHEMA_STEPS: readonly SchemaStep[] = [
  { version: 1, name: 'indexes', apply: createIndexes },
  { version: 2, name: 'encryption keys', apply: createEncryptionIndexes }
]

export async function applySchemaSteps(db: Db, logger?: Logger): Promise<void> {
  const { schema } = collectionsOf(db)
  const applied = new Set((await schema.find({}, { projection: { _id: 1 } }).toArray()).map((step) => step._id))
  const known = new Set(SCHEMA_STEPS.map((step) => step.version))
  const unknown = [...applied].filter((version) => !known.has(version))
  if (unknown.length > 0) {
    // As knex refuses a database migrated by a newer release: this one cannot know what those steps changed.
    throw new Error(`This MongoDB database has schema steps ${unknown.join(', ')} that this version of Roost does not know: it was set up by a newer Roost.`)
  }
  for (const step of SCHEMA_STEPS) {
    if (applied.has(step.version)) continue
    await step.apply(db)
    // An upsert, so that an instance that ran the same step at the same time does not fail here.
    await schema.updateOne({ _id: step.version }, { $setOnInsert: { name: step.name, appliedAt: new Date().toISOString() } }, { upsert: true })
    logger?.info({ step: step.version, name: step.name }, 'MongoDB schema step applied')
  }
}
