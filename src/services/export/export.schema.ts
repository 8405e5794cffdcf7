import { Type, type Static } from '@feathersjs/typebox'
import { roleSchema } from '../members/members.schema.js'

/** A collection as the export's header lists it. */
export const exportCollectionSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    /** The exporting user's role in it. */
    role: roleSchema,
    /** Whether it has key epochs: its records' data are ciphertext envelopes, exported as stored. */
    encrypted: Type.Boolean(),
    ownerId: Type.String()
  },
  { $id: 'ExportCollection', additionalProperties: false }
)
export type ExportCollection = Static<typeof exportCollectionSchema>

/** Line 1 of an export. */
export const exportHeaderSchema = Type.Object(
  {
    format: Type.Literal('roost-export'),
    version: Type.Literal(1),
    exportedAt: Type.String(),
    collections: Type.Array(exportCollectionSchema)
  },
  { $id: 'ExportHeader', additionalProperties: false }
)
export type ExportHeader = Static<typeof exportHeaderSchema>

/** Every following line: a record or a tombstone (`data` null), as the change feed has it. */
export const exportLineSchema = Type.Object(
  {
    collectionId: Type.String(),
    id: Type.String(),
    version: Type.Integer(),
    deleted: Type.Boolean(),
    data: Type.Unknown(),
    updatedAt: Type.String(),
    updatedBy: Type.Union([Type.String(), Type.Null()]),
    seq: Type.Integer()
  },
  { $id: 'ExportLine', additionalProperties: false }
)
export type ExportLine = Static<typeof exportLineSchema>
