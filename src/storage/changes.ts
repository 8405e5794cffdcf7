import type { JsonValue, StoredChange, StoredRecord } from './types.js'

/** The record a feed change stands for, its data parsed; fields in StoredRecord's order. */
export const recordOfChange = ({ dataJson, ...change }: StoredChange): StoredRecord => ({
  collectionId: change.collectionId,
  id: change.id,
  version: change.version,
  data: dataJson === null ? null : (JSON.parse(dataJson) as JsonValue),
  deleted: change.deleted,
  updatedAt: change.updatedAt,
  updatedBy: change.updatedBy,
  ...(change.idempotencyKey === undefined ? {} : { idempotencyKey: change.idempotencyKey }),
  seq: change.seq
})
