import { describe, expect, it } from 'vitest'
import { ENCRYPTION_INDEXES, INDEXES } from '../../../src/storage/mongodb/indexes.js'
import { SCHEMA_STEPS } from '../../../src/storage/mongodb/schema-version.js'

/** The index list (src/storage/mongodb/indexes.ts) against the keys the SQL schema has (migrations/*.ts). */

const keysOf = (unique: boolean): string[] =>
  [...INDEXES, ...ENCRYPTION_INDEXES].flatMap(({ collection, indexes }) =>
    indexes.filter((index) => (index.unique === true) === unique).map((index) => `${collection}(${Object.keys(index.key).join(', ')})`)
  ).sort()

describe('MongoDB indexes', () => {
  it('are unique exactly where SQL has a composite key or a unique column (one-column keys are _id)', () => {
    expect(keysOf(true)).toEqual(
      [
        'users(email)',
        'records(collectionId, id)',
        'records(collectionId, seq)',
        'members(collectionId, userId)',
        'locks(collectionId, userId, holder)',
        'operations(batchId, collectionId, recordId)',
        'keys(userId, key)',
        'keyEpochs(collectionId, epoch)',
        'collectionKeys(collectionId, epoch, userId)'
      ].sort()
    )
  })

  it('cover the feed, membership lists, staging order and the expiry sweeps', () => {
    const plain = keysOf(false)
    for (const expected of [
      'members(userId, collectionId)',
      'operations(batchId, ordinal)',
      'batches(userId, status)',
      'batches(status, expiresAt)',
      'locks(expiresAt)',
      'keys(expiresAt)',
      'invitations(expiresAt)',
      'invitations(collectionId)',
      'collectionKeys(collectionId, userId)'
    ]) {
      expect(plain).toContain(expected)
    }
  })

  it('are ascending, with no TTL and no collation (strings compare by code point)', () => {
    for (const { indexes } of [...INDEXES, ...ENCRYPTION_INDEXES]) {
      for (const index of indexes) {
        expect(Object.values(index.key).every((direction) => direction === 1)).toBe(true)
        expect(index.expireAfterSeconds).toBeUndefined()
        expect(index.collation).toBeUndefined()
      }
    }
  })

  it('are created by schema steps 1 (indexes) and 2 (encryption keys); steps are numbered 1, 2, 3, … in order', () => {
    expect(SCHEMA_STEPS[0]).toMatchObject({ version: 1, name: 'indexes' })
    expect(SCHEMA_STEPS[1]).toMatchObject({ version: 2, name: 'encryption keys' })
    expect(SCHEMA_STEPS.map((step) => step.version)).toEqual(SCHEMA_STEPS.map((_, index) => index + 1))
  })
})
