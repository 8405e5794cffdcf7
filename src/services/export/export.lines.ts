import type { StoredChange } from '../../storage/types.js'
import type { ExportHeader } from './export.schema.js'

/**
 * The lines of an export (NDJSON: one JSON value a line, "\n" after each).
 * A record's line is written from the data's stored JSON text, never parsed
 * and serialised again (as the change feed's REST answer, changes.rest.ts),
 * so ciphertext envelopes and numbers leave byte for byte as stored.
 */

export const headerLine = (header: ExportHeader): string => `${JSON.stringify(header)}\n`

export const recordLine = (change: StoredChange): string =>
  `{"collectionId":${JSON.stringify(change.collectionId)},"id":${JSON.stringify(change.id)},"version":${change.version}` +
  `,"deleted":${change.deleted},"data":${change.dataJson ?? 'null'},"updatedAt":${JSON.stringify(change.updatedAt)}` +
  `,"updatedBy":${JSON.stringify(change.updatedBy)},"seq":${change.seq}}\n`

/** `roost-<collectionId|all>-<YYYYMMDD>.ndjson`, the date of `exportedAt` (UTC). */
export const exportFilename = (scope: string, exportedAt: string): string => `roost-${scope}-${exportedAt.slice(0, 10).replaceAll('-', '')}.ndjson`

/** Content-Disposition for that name: collection ids are letters, digits and `_.~-` (ids.ts), safe in a quoted string. */
export const contentDisposition = (filename: string): string => `attachment; filename="${filename}"`
