import { Type, type Static } from '@feathersjs/typebox'
import { idSchema, lockTokenSchema, versionSchema } from '../../ids.js'
import { dataValidator } from '../../validation.js'

export const batchStatusSchema = Type.Union([
  Type.Literal('open'),
  Type.Literal('committed'),
  Type.Literal('aborted'),
  Type.Literal('expired')
])

/** What one committed operation did. */
export const batchResultSchema = Type.Object(
  {
    collectionId: idSchema,
    id: idSchema,
    outcome: Type.Union([Type.Literal('created'), Type.Literal('updated'), Type.Literal('deleted')]),
    version: Type.Integer(),
    seq: Type.Integer()
  },
  { additionalProperties: false }
)
export type BatchResult = Static<typeof batchResultSchema>

export const batchSchema = Type.Object(
  {
    id: idSchema,
    status: batchStatusSchema,
    operationCount: Type.Integer(),
    bytes: Type.Integer(),
    createdAt: Type.String(),
    expiresAt: Type.String(),
    committedAt: Type.Union([Type.String(), Type.Null()]),
    /** Once committed: every operation's outcome, in staging order. */
    results: Type.Optional(Type.Array(batchResultSchema)),
    /** Once committed: each collection's cursor just after the commit. */
    cursors: Type.Optional(Type.Record(Type.String(), Type.String()))
  },
  { $id: 'Batch', additionalProperties: false }
)
export type Batch = Static<typeof batchSchema>

export const batchOpenSchema = Type.Object(
  {
    /** Client-chosen (opening the same id again returns the same batch); generated when absent. */
    id: Type.Optional(idSchema),
    /** Seconds until an uncommitted batch expires (default and maximum: batches.ttlSeconds / maxTtlSeconds). */
    ttl: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Refused at once if over batches.maxOperations / maxBytes. */
    expectedOperations: Type.Optional(Type.Integer({ minimum: 0 })),
    expectedBytes: Type.Optional(Type.Integer({ minimum: 0 }))
  },
  { $id: 'BatchOpen', additionalProperties: false }
)
export type BatchOpen = Static<typeof batchOpenSchema>

/**
 * put: create or replace. Names the version it replaces (a tombstone's to
 * re-create a deleted id) or `ifNotExists: true`. delete: names its version.
 */
export const batchOperationSchema = Type.Object(
  {
    op: Type.Union([Type.Literal('put'), Type.Literal('delete')]),
    collectionId: idSchema,
    id: idSchema,
    data: Type.Optional(Type.Unknown()),
    version: Type.Optional(versionSchema),
    ifNotExists: Type.Optional(Type.Literal(true))
  },
  { $id: 'BatchOperation', additionalProperties: false }
)
export type BatchOperation = Static<typeof batchOperationSchema>

export const batchAppendSchema = Type.Object(
  {
    id: idSchema,
    operations: Type.Array(batchOperationSchema, { minItems: 1, maxItems: 1000 })
  },
  { $id: 'BatchAppend', additionalProperties: false }
)
export type BatchAppend = Static<typeof batchAppendSchema>

export const batchCommitSchema = Type.Object(
  {
    id: idSchema,
    /** Per collection, the cursor last seen: the commit fails (409) if the collection changed since. */
    since: Type.Optional(
      Type.Record(Type.String({ pattern: idSchema.pattern, maxLength: 128 }), Type.String({ maxLength: 64 }), { maxProperties: 100 })
    ),
    /** Per collection, the fencing token of the caller's exclusive lock on it (see the locks service). */
    lockTokens: Type.Optional(
      Type.Record(Type.String({ pattern: idSchema.pattern, maxLength: 128 }), lockTokenSchema, { maxProperties: 100 })
    )
  },
  { $id: 'BatchCommit', additionalProperties: false }
)
export type BatchCommit = Static<typeof batchCommitSchema>

export const batchOpenValidator = dataValidator(batchOpenSchema)
export const batchAppendValidator = dataValidator(batchAppendSchema)
export const batchCommitValidator = dataValidator(batchCommitSchema)
