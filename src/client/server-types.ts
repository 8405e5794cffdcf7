/**
 * Answers of the server's operator and dashboard routes, as the client sees
 * them (docs/PROTOCOL.md). They mirror the server's `server-stats.shared.ts`
 * and the `collection-batches` shared type; kept here, type-only, so the
 * client compiles on its own.
 */

/** `GET /server-stats` (operators only). */
export interface ServerStats {
  status: 'ok'
  /** The server's package.json version. */
  version: string
  /** ISO time the server started. */
  startedAt: string
  uptimeSeconds: number
  database: { backend: 'sqlite' | 'postgresql' | 'mongodb' }
  counts: { users: number; collections: number; records: number; tombstones: number; bytes: number; openBatches: number; locks: number }
  realtime: { connections: number; authenticated: number }
}

/** One open batch with staged operations on a collection (`GET /collections/:id/batches`). */
export interface CollectionBatch {
  id: string
  userId: string
  email?: string
  /** Of the whole batch (it may touch other collections too). */
  operationCount: number
  bytes: number
  createdAt: string
  expiresAt: string
}

/** A download of `roost.server.exportData()`: NDJSON, streamed. */
export interface ExportDownload {
  /** From the server's Content-Disposition, such as `roost-notes-20261204.ndjson`. */
  filename: string
  /** The NDJSON body as it arrives; read it once (or cancel it). */
  body: ReadableStream<Uint8Array>
}
