import { Type, type Static } from '@feathersjs/typebox'
import { countSchema } from '../../ids.js'
import { dataValidator, MAX_ITEMS, queryValidator } from '../../validation.js'
import { base64urlBytes } from '../user-keys/user-keys.schema.js'

/** An epoch number: 1, 2, 3…, as both databases hold it. */
export const epochSchema = Type.Integer({ minimum: 1, maximum: 2147483647 })
const keyVersionSchema = Type.Integer({ minimum: 1, maximum: 2147483647 })

/**
 * A collection key wrapped for one user's public key: HPKE (RFC 9180) base
 * mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
 * (docs/ENCRYPTION.md). The server stores it and never opens it.
 */
export const wrappedKeySchema = Type.Object(
  {
    v: Type.Literal(1),
    /** The HPKE encapsulated key. */
    enc: base64urlBytes(32),
    /** The 32-byte collection key and the 16-byte tag. */
    c: base64urlBytes(48)
  },
  { $id: 'WrappedKey', additionalProperties: false }
)
export type WrappedKey = Static<typeof wrappedKeySchema>

/** A wrapped key as a manager hands it in: for whom, and for which of their key versions. */
export const wrappedKeyInputSchema = Type.Object(
  { userId: Type.String({ format: 'uuid' }), keyVersion: keyVersionSchema, wrappedKey: wrappedKeySchema },
  { $id: 'WrappedKeyInput', additionalProperties: false }
)
export type WrappedKeyInput = Static<typeof wrappedKeyInputSchema>

/** At most MAX_ITEMS (1000) keys in one request, like records. */
export const wrappedKeyInputsSchema = Type.Array(wrappedKeyInputSchema, { maxItems: MAX_ITEMS })

/** A collection key of one epoch, wrapped for one member. */
export const collectionKeySchema = Type.Object(
  {
    collectionId: Type.String(),
    epoch: Type.Integer(),
    userId: Type.String(),
    keyVersion: Type.Integer(),
    wrappedKey: wrappedKeySchema,
    /** Who wrapped it (for a key an invitation carried, the inviter). */
    wrappedBy: Type.String(),
    createdAt: Type.String()
  },
  { $id: 'CollectionKey', additionalProperties: false }
)
export type CollectionKey = Static<typeof collectionKeySchema>

/** Add keys to an existing epoch (`create`), for members who lack one. */
export const collectionKeysAddSchema = Type.Object(
  { epoch: epochSchema, keys: wrappedKeyInputsSchema },
  { $id: 'CollectionKeysAdd', additionalProperties: false }
)
export type CollectionKeysAdd = Static<typeof collectionKeysAddSchema>

export const collectionKeyQuerySchema = Type.Object(
  {
    epoch: Type.Optional(epochSchema),
    userId: Type.Optional(Type.String({ format: 'uuid' })),
    $limit: Type.Optional(countSchema),
    $skip: Type.Optional(countSchema)
  },
  { $id: 'CollectionKeyQuery', additionalProperties: false }
)
export type CollectionKeyQuery = Static<typeof collectionKeyQuerySchema>

export const collectionKeysAddValidator = dataValidator(collectionKeysAddSchema)
export const collectionKeyQueryValidator = queryValidator(collectionKeyQuerySchema)
