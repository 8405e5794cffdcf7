import { Type, type Static } from '@feathersjs/typebox'
import { queryValidator } from '../../validation.js'
import { recordSchema } from '../records/records.schema.js'

export const changesQuerySchema = Type.Object(
  {
    /** A cursor from an earlier pull; absent means from the beginning. */
    since: Type.Optional(Type.String({ maxLength: 64 })),
    /** At most this many changes (1–1000, default and cap `limits.changesPerPage`). */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }))
  },
  { $id: 'ChangesQuery', additionalProperties: false }
)
export type ChangesQuery = Static<typeof changesQuerySchema>

export const changesPageSchema = Type.Object(
  {
    /** Records and tombstones in change order, each at most once, in its latest state. */
    changes: Type.Array(recordSchema),
    /** Pass as `since` next time. Opaque. */
    cursor: Type.String(),
    /** True if more changes follow: pull again right away. */
    more: Type.Boolean()
  },
  { $id: 'ChangesPage', additionalProperties: false }
)
export type ChangesPageResult = Static<typeof changesPageSchema>

export const changesQueryValidator = queryValidator(changesQuerySchema)
