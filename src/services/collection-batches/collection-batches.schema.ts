import { Type, type Static } from '@feathersjs/typebox'

/** An open batch with operations staged on a collection, as its members see it (counts are of the whole batch). */
export const collectionBatchSchema = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    /** The e-mail of the user whose batch it is. */
    email: Type.Optional(Type.String()),
    /** Operations staged in the batch, on any collection. */
    operationCount: Type.Integer(),
    /** Bytes of their data. */
    bytes: Type.Integer(),
    createdAt: Type.String(),
    expiresAt: Type.String()
  },
  { $id: 'CollectionBatch', additionalProperties: false }
)
export type CollectionBatch = Static<typeof collectionBatchSchema>
