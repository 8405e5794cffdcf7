import { Type, type Static } from '@feathersjs/typebox'
import { idSchema } from '../../ids.js'
import { dataValidator, queryValidator } from '../../validation.js'

const modeSchema = Type.Union([Type.Literal('exclusive'), Type.Literal('shared')])

/** A lease on a collection, as clients see it. */
export const lockSchema = Type.Object(
  {
    collectionId: Type.String(),
    /** The client/device holding it, as it named itself; unique within its user. */
    holder: Type.String(),
    userId: Type.String(),
    mode: modeSchema,
    /** Fencing token: strictly increases with every grant on the collection. Writes under the lock carry it. */
    token: Type.Integer(),
    acquiredAt: Type.String(),
    expiresAt: Type.String(),
    /** The holder's user's e-mail, in listings (find) for the collection's members; absent elsewhere. */
    email: Type.Optional(Type.String())
  },
  { $id: 'Lock', additionalProperties: false }
)
export type Lock = Static<typeof lockSchema>

/** Acquire (`create`). */
export const lockAcquireSchema = Type.Object(
  {
    holder: idSchema,
    /** Default exclusive. */
    mode: Type.Optional(modeSchema),
    /** Lease length; default `locks.ttlSeconds`, at most `locks.maxTtlSeconds`. */
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    /** If someone else holds it: wait up to this long for it to free up (at most `locks.maxWaitSeconds`), then 423. */
    waitSeconds: Type.Optional(Type.Number({ minimum: 0 }))
  },
  { $id: 'LockAcquire', additionalProperties: false }
)
export type LockAcquire = Static<typeof lockAcquireSchema>

/** Renew (`patch` of the holder's lock). */
export const lockRenewSchema = Type.Object(
  { ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })) },
  { $id: 'LockRenew', additionalProperties: false }
)
export type LockRenew = Static<typeof lockRenewSchema>

/** What release (`remove`) answers: released is false if the lease had already ended (not an error: retries are harmless). */
export const lockReleaseSchema = Type.Object(
  { collectionId: Type.String(), holder: Type.String(), released: Type.Boolean() },
  { $id: 'LockRelease', additionalProperties: false }
)
export type LockRelease = Static<typeof lockReleaseSchema>

/**
 * The query of release (`remove`). `$break: true`: an owner ends another
 * user's lease of that holder id (every user's, or only `userId`'s).
 */
export const lockRemoveQuerySchema = Type.Object(
  {
    $break: Type.Optional(Type.Boolean()),
    /** With `$break`: only this user's lease of the holder id. */
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 }))
  },
  { $id: 'LockRemoveQuery', additionalProperties: false }
)
export type LockRemoveQuery = Static<typeof lockRemoveQuerySchema>

/** The realtime event `collections lock`: sent to the sockets of everyone who may read the collection. */
export const lockEventSchema = Type.Object(
  {
    collectionId: Type.String(),
    type: Type.Union([Type.Literal('acquired'), Type.Literal('released'), Type.Literal('expired')]),
    lock: lockSchema,
    /** On 'released' by an owner breaking the lease (`$break`): who broke it. */
    brokenBy: Type.Optional(Type.String())
  },
  { $id: 'LockEvent', additionalProperties: false }
)
export type LockEvent = Static<typeof lockEventSchema>

export const lockAcquireValidator = dataValidator(lockAcquireSchema)
export const lockRemoveQueryValidator = queryValidator(lockRemoveQuerySchema)
export const lockRenewValidator = dataValidator(lockRenewSchema)
