import { Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '../../validation.js'
import { collectionKeySchema, epochSchema, wrappedKeyInputsSchema } from '../collection-keys/collection-keys.schema.js'

/**
 * A key epoch of an encrypted collection. A collection is encrypted once it
 * has one; the highest is current, and records are written under it.
 */
export const keyEpochSchema = Type.Object(
  {
    collectionId: Type.String(),
    epoch: Type.Integer({ minimum: 1 }),
    createdBy: Type.String(),
    createdAt: Type.String(),
    /**
     * Current members with a public key but no key of this epoch wrapped for
     * their current key version, for a manager's client to heal; filled for
     * owners and admins, [] for other roles.
     */
    missing: Type.Array(Type.String())
  },
  { $id: 'KeyEpoch', additionalProperties: false }
)
export type KeyEpoch = Static<typeof keyEpochSchema>

/** Start epoch current + 1 (`create`), with the new key wrapped for every member that has a public key. */
export const keyEpochCreateSchema = Type.Object(
  { epoch: epochSchema, keys: wrappedKeyInputsSchema },
  { $id: 'KeyEpochCreate', additionalProperties: false }
)
export type KeyEpochCreate = Static<typeof keyEpochCreateSchema>

/** What starting an epoch answers: the epoch and the keys written. */
export const keyEpochCreatedSchema = Type.Object(
  { epoch: keyEpochSchema, keys: Type.Array(collectionKeySchema) },
  { $id: 'KeyEpochCreated', additionalProperties: false }
)
export type KeyEpochCreated = Static<typeof keyEpochCreatedSchema>

/**
 * The realtime event `collections keys`: an epoch was started (`epoch`) or
 * keys were added to one (`keys`). Heard by every member, like `member`:
 * their clients fetch their key, or (managers) look at `missing`.
 */
export const keysEventSchema = Type.Object(
  {
    collectionId: Type.String(),
    epoch: Type.Integer({ minimum: 1 }),
    type: Type.Union([Type.Literal('epoch'), Type.Literal('keys')])
  },
  { $id: 'KeysEvent', additionalProperties: false }
)
export type KeysEvent = Static<typeof keysEventSchema>

export const keyEpochCreateValidator = dataValidator(keyEpochCreateSchema)
