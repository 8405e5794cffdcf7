import { TamperedRecordError } from '../crypto/errors.js'
import type { ServerRecord } from '../types.js'
import type { EngineContext } from './context.js'

/**
 * Records from the server, decrypted where their collection is encrypted.
 * A record that fails to decrypt is reported (`ctx.tampered`) and comes
 * back as `null`: it must not be shown. A missing key throws (retry later).
 */
export async function decodeRecords(ctx: EngineContext, records: ServerRecord[]): Promise<Array<ServerRecord | null>> {
  await ctx.codec.inspect(records)
  // Concurrently: WebCrypto works off the main thread, so a page of 1000 decrypts overlaps.
  return Promise.all(records.map((record) => decodeRecord(ctx, record, true)))
}

export async function decodeRecord(ctx: EngineContext, record: ServerRecord, inspected = false): Promise<ServerRecord | null> {
  if (!inspected) await ctx.codec.inspect([record])
  try {
    return await ctx.codec.decode(record)
  } catch (error) {
    if (!(error instanceof TamperedRecordError)) throw error
    ctx.tampered(error, record)
    return null
  }
}

/**
 * The server's record in a conflict answer, decrypted. One that fails to
 * decrypt is reported and stands as a record without data, so the conflict
 * still settles (the app sees `server.data` null) rather than retrying forever.
 */
export async function decodeCurrent(ctx: EngineContext, current: ServerRecord | null): Promise<ServerRecord | null> {
  if (current === null) return null
  return (await decodeRecord(ctx, current)) ?? { ...current, data: null }
}
