import { Type, type Static } from '@feathersjs/typebox'
import { countSchema, idSchema } from '../../ids.js'
import { dataValidator, MAX_ITEMS, queryValidator } from '../../validation.js'
import { epochSchema, wrappedKeySchema } from '../collection-keys/collection-keys.schema.js'
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
    answeredAt: Type.Union([Type.String(), Type.Null()]),
    /** The key epochs of an encrypted collection it carries keys for, ascending ([] when none); the keys themselves are not shown. */
    keyEpochs: Type.Array(Type.Integer())
  },
  { $id: 'Invitation', additionalProperties: false }
)
export type Invitation = Static<typeof invitationSchema>

/**
 * A collection key an invitation carries, wrapped for the invitee's public
 * key (of `keyVersion`): added to the collection's keys when they accept.
 */
export const invitationKeySchema = Type.Object(
  { epoch: epochSchema, keyVersion: Type.Integer({ minimum: 1, maximum: 2147483647 }), wrappedKey: wrappedKeySchema },
  { $id: 'InvitationKey', additionalProperties: false }
)
export type InvitationKey = Static<typeof invitationKeySchema>

/** Invite (`create`): exactly one of `email` and `userId`; `keys` only with `userId` (a key is wrapped for a known user's public key). */
export const invitationCreateSchema = Type.Object(
  {
    collectionId: idSchema,
    role: roleSchema,
    email: Type.Optional(Type.String({ format: 'email', maxLength: 320 })),
    userId: Type.Optional(Type.String({ format: 'uuid' })),
    /** How long it can be accepted; default `sharing.invitationTtlSeconds`, at most `sharing.maxInvitationTtlSeconds`. */
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    keys: Type.Optional(Type.Array(invitationKeySchema, { maxItems: MAX_ITEMS }))
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
