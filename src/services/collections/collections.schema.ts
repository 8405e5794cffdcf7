import { Type, type Static } from '@feathersjs/typebox'
import { countSchema, idSchema } from '../../ids.js'
import { dataValidator, queryValidator } from '../../validation.js'
import { roleSchema } from '../members/members.schema.js'
import { recordSchema } from '../records/records.schema.js'

const nameSchema = Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Null()])

export const collectionSchema = Type.Object(
  {
    id: idSchema,
    name: nameSchema,
    /** The user who created it (who may since have left; `members` says who owns it now). */
    ownerId: Type.String(),
    /** The caller's role in it. */
    role: roleSchema,
    /** Cursor of the latest change: pulling with it returns only later changes. */
    cursor: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String()
  },
  { $id: 'Collection', additionalProperties: false }
)
export type Collection = Static<typeof collectionSchema>

export const collectionDataSchema = Type.Object(
  { id: Type.Optional(idSchema), name: Type.Optional(nameSchema) },
  { $id: 'CollectionData', additionalProperties: false }
)
export type CollectionData = Static<typeof collectionDataSchema>

export const collectionPatchSchema = Type.Object(
  { name: nameSchema },
  { $id: 'CollectionPatch', additionalProperties: false }
)
export type CollectionPatch = Static<typeof collectionPatchSchema>

export const collectionQuerySchema = Type.Object(
  {
    $limit: Type.Optional(countSchema),
    $skip: Type.Optional(countSchema)
  },
  { $id: 'CollectionQuery', additionalProperties: false }
)
export type CollectionQuery = Static<typeof collectionQuerySchema>

/** The realtime event `collections change`: one committed change to a record. */
export const changeEventSchema = Type.Object(
  {
    collectionId: idSchema,
    /** The change's position: consecutive within a collection, so a gap means a missed event. */
    seq: Type.Integer(),
    /** Cursor just after this change: pulling with it returns only later changes. */
    cursor: Type.String(),
    record: recordSchema
  },
  { $id: 'ChangeEvent', additionalProperties: false }
)
export type ChangeEvent = Static<typeof changeEventSchema>

export const collectionDataValidator = dataValidator(collectionDataSchema)
export const collectionPatchValidator = dataValidator(collectionPatchSchema)
export const collectionQueryValidator = queryValidator(collectionQuerySchema)
export const emptyQueryValidator = queryValidator(Type.Object({}, { additionalProperties: false }))
