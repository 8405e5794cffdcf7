import { Type, type Static } from '@feathersjs/typebox'
import { countSchema, idSchema } from '../../ids.js'
import { dataValidator, queryValidator } from '../../validation.js'
import { roleSchema } from '../members/members.schema.js'

const statusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('declined'),
  Type.Literal('revoked'),
  Type.Literal('expired')
])

/** An invitation to join a collection with a role. */
export const invitationSchema = Type.Object(
  {
    id: Type.String(),
    collectionId: Type.String(),
    /** The collection's name now: what the invitee sees of it before accepting. */
    collectionName: Type.Union([Type.String(), Type.Null()]),
    role: roleSchema,
    /** Who is invited: a user id, or an e-mail address (whoever signs in with it). Once answered, the user who answered. */
    inviteeUserId: Type.Union([Type.String(), Type.Null()]),
    inviteeEmail: Type.Union([Type.String(), Type.Null()]),
    invitedBy: Type.String(),
    status: statusSchema,
    createdAt: Type.String(),
    expiresAt: Type.String(),
    answeredAt: Type.Union([Type.String(), Type.Null()])
  },
  { $id: 'Invitation', additionalProperties: false }
)
export type Invitation = Static<typeof invitationSchema>

/** Invite (`create`): exactly one of `email` and `userId`. */
export const invitationCreateSchema = Type.Object(
  {
    collectionId: idSchema,
    role: roleSchema,
    email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
    userId: Type.Optional(Type.String({ format: 'uuid' })),
    /** How long it can be accepted; default `sharing.invitationTtlSeconds`, at most `sharing.maxInvitationTtlSeconds`. */
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 }))
  },
  { $id: 'InvitationCreate', additionalProperties: false }
)
export type InvitationCreate = Static<typeof invitationCreateSchema>

/** The invitee's answer (`patch`). */
export const invitationAnswerSchema = Type.Object(
  { status: Type.Union([Type.Literal('accepted'), Type.Literal('declined')]) },
  { $id: 'InvitationAnswer', additionalProperties: false }
)
export type InvitationAnswer = Static<typeof invitationAnswerSchema>

/**
 * `find`: without `collectionId`, the invitations addressed to the caller;
 * with it, that collection's invitations (for its owners and admins).
 */
export const invitationQuerySchema = Type.Object(
  {
    collectionId: Type.Optional(idSchema),
    status: Type.Optional(statusSchema),
    $limit: Type.Optional(countSchema),
    $skip: Type.Optional(countSchema)
  },
  { $id: 'InvitationQuery', additionalProperties: false }
)
export type InvitationQuery = Static<typeof invitationQuerySchema>

export const invitationCreateValidator = dataValidator(invitationCreateSchema)
export const invitationAnswerValidator = dataValidator(invitationAnswerSchema)
export const invitationQueryValidator = queryValidator(invitationQuerySchema)
