import { Type, type Static } from '@feathersjs/typebox'
import { countSchema } from '../../ids.js'
import { dataValidator, queryValidator } from '../../validation.js'

/** From most to least: owner (everything, incl. deleting the collection), admin (manage members), writer, reader. */
export const roleSchema = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('writer'), Type.Literal('reader')], {
  $id: 'Role'
})
export type Role = Static<typeof roleSchema>

const userIdSchema = Type.String({ format: 'uuid', description: 'a user id' })

/** A member of a collection, as other members see them. */
export const memberSchema = Type.Object(
  {
    collectionId: Type.String(),
    userId: Type.String(),
    email: Type.String(),
    role: roleSchema,
    createdAt: Type.String(),
    updatedAt: Type.String()
  },
  { $id: 'Member', additionalProperties: false }
)
export type Member = Static<typeof memberSchema>

/** Add a member directly by user id (`create`); to reach someone by e-mail, invite them. */
export const memberAddSchema = Type.Object({ userId: userIdSchema, role: roleSchema }, { $id: 'MemberAdd', additionalProperties: false })
export type MemberAdd = Static<typeof memberAddSchema>

/** Change a member's role (`patch`). */
export const memberPatchSchema = Type.Object({ role: roleSchema }, { $id: 'MemberPatch', additionalProperties: false })
export type MemberPatch = Static<typeof memberPatchSchema>

export const memberQuerySchema = Type.Object(
  { $limit: Type.Optional(countSchema), $skip: Type.Optional(countSchema) },
  { $id: 'MemberQuery', additionalProperties: false }
)
export type MemberQuery = Static<typeof memberQuerySchema>

/**
 * The realtime event `collections member`: someone was added, changed role
 * or left. Sent to every member, and to the member concerned (so a removed
 * member learns it).
 */
export const memberEventSchema = Type.Object(
  {
    collectionId: Type.String(),
    type: Type.Union([Type.Literal('added'), Type.Literal('changed'), Type.Literal('removed')]),
    member: memberSchema
  },
  { $id: 'MemberEvent', additionalProperties: false }
)
export type MemberEvent = Static<typeof memberEventSchema>

export const memberAddValidator = dataValidator(memberAddSchema)
export const memberPatchValidator = dataValidator(memberPatchSchema)
export const memberQueryValidator = queryValidator(memberQuerySchema)
