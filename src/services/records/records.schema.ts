import { Type, type Static } from '@feathersjs/typebox'
import { countSchema, idSchema, versionSchema } from '../../ids.js'
import { dataValidator, queryValidator } from '../../validation.js'

/** A versioned record, or (deleted: true, data: null) its tombstone. */
export const recordSchema = Type.Object(
  {
    id: idSchema,
    collectionId: idSchema,
    version: Type.Integer({ minimum: 1 }),
    /** Any JSON value the client stored; null in tombstones. */
    data: Type.Unknown(),
    deleted: Type.Boolean(),
    updatedAt: Type.String(),
    updatedBy: Type.Union([Type.String(), Type.Null()]),
    /**
     * The idempotency key of the call that wrote this version; absent when it
     * had none. A retry answered 409 whose current version carries its own
     * key was applied by an earlier attempt (docs/PROTOCOL.md, "Idempotent retries").
     */
    idempotencyKey: Type.Optional(Type.String()),
    /** Change position within the collection. */
    seq: Type.Integer({ minimum: 1 })
  },
  { $id: 'Record', additionalProperties: false }
)
export type RecordItem = Static<typeof recordSchema>

export const recordCreateSchema = Type.Object(
  {
    /** Client-chosen id (e.g. a UUID); generated when absent. */
    id: Type.Optional(idSchema),
    data: Type.Unknown(),
    /** Only to re-create an id over a tombstone: the tombstone's version. */
    version: Type.Optional(versionSchema)
  },
  { $id: 'RecordCreate', additionalProperties: false, required: ['data'] }
)
export type RecordCreate = Static<typeof recordCreateSchema>

export const recordUpdateSchema = Type.Object(
  {
    data: Type.Unknown(),
    /** The version this write is based on (or send If-Match). */
    version: Type.Optional(versionSchema)
  },
  { $id: 'RecordUpdate', additionalProperties: false, required: ['data'] }
)
export type RecordUpdate = Static<typeof recordUpdateSchema>

export const recordPatchSchema = Type.Object(
  {
    /** Top-level fields to set in the record's (object) data. */
    data: Type.Record(Type.String(), Type.Unknown()),
    version: Type.Optional(versionSchema)
  },
  { $id: 'RecordPatch', additionalProperties: false }
)
export type RecordPatch = Static<typeof recordPatchSchema>

/** PATCH on the records path without an id: several records at once, all or nothing. */
export const recordPatchItemSchema = Type.Object(
  {
    id: idSchema,
    data: Type.Record(Type.String(), Type.Unknown()),
    version: versionSchema
  },
  { $id: 'RecordPatchItem', additionalProperties: false }
)
export type RecordPatchItem = Static<typeof recordPatchItemSchema>

const sortOrder = Type.Union([Type.Literal(1), Type.Literal(-1)])

export const recordQuerySchema = Type.Object(
  {
    $limit: Type.Optional(countSchema),
    $skip: Type.Optional(countSchema),
    $sort: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(sortOrder),
          version: Type.Optional(sortOrder),
          updatedAt: Type.Optional(sortOrder),
          updatedBy: Type.Optional(sortOrder),
          seq: Type.Optional(sortOrder)
        },
        { additionalProperties: false }
      )
    ),
    id: Type.Optional(Type.Union([idSchema, Type.Object({ $in: Type.Array(idSchema, { maxItems: 1000 }) }, { additionalProperties: false })])),
    updatedBy: Type.Optional(Type.String()),
    /** Tombstones are left out unless `deleted=true` (which lists only tombstones). */
    deleted: Type.Optional(Type.Boolean())
  },
  { $id: 'RecordQuery', additionalProperties: false }
)
export type RecordQuery = Static<typeof recordQuerySchema>

/** update, patch and remove take the base version here too (DELETE has no body). */
export const recordWriteQuerySchema = Type.Object(
  { version: Type.Optional(versionSchema) },
  { $id: 'RecordWriteQuery', additionalProperties: false }
)
export type RecordWriteQuery = Static<typeof recordWriteQuerySchema>

/** DELETE on the records path without an id: `?versions[<id>]=<version>&…`, all or nothing. */
export const recordRemoveManyQuerySchema = Type.Object(
  {
    versions: Type.Record(Type.String({ pattern: idSchema.pattern, maxLength: 128 }), versionSchema, {
      minProperties: 1,
      maxProperties: 1000
    })
  },
  { $id: 'RecordRemoveManyQuery', additionalProperties: false, required: ['versions'] }
)
export type RecordRemoveManyQuery = Static<typeof recordRemoveManyQuerySchema>

export const recordCreateValidator = dataValidator(recordCreateSchema)
export const recordUpdateValidator = dataValidator(recordUpdateSchema)
export const recordPatchValidator = dataValidator(recordPatchSchema)
export const recordQueryValidator = queryValidator(recordQuerySchema)
export const recordWriteQueryValidator = queryValidator(recordWriteQuerySchema)
export const recordPatchItemValidator = dataValidator(recordPatchItemSchema)
export const recordRemoveManyQueryValidator = queryValidator(recordRemoveManyQuerySchema)
