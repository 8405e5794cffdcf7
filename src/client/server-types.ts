/**
 * Answers of the server's dashboard routes, as the client sees them
 * (docs/PROTOCOL.md): the server's shared types, imported as types only so
 * nothing of the server is bundled.
 */
export type { ServerStats } from '../services/server-stats/server-stats.shared.js'
export type { CollectionBatch } from '../services/collection-batches/collection-batches.shared.js'

/** A download of `roost.server.exportData()`: NDJSON, streamed. */
export interface ExportDownload {
  /** From the server's Content-Disposition, such as `roost-notes-20261204.ndjson`. */
  filename: string
  /** The NDJSON body as it arrives; read it once (or cancel it). */
  body: ReadableStream<Uint8Array>
}
