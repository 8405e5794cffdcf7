import { encryptRecord, openRecord } from '../crypto/record-envelope.js'
import type { Json, ServerRecord } from '../types.js'
import type { AesGcm } from '../crypto/aes-gcm.js'
import type { KeyRing } from './keyring.js'

/**
 * How record data crosses the wire: as it is, or — in an encrypted
 * collection — as an envelope (docs/ENCRYPTION.md). The sync engine calls
 * `encode` where a push is planned (the request is stored before its first
 * send and re-sent byte for byte, so a retry never meets `key-reused`), and
 * `decode` on every record that comes from the server (feed pages, a
 * conflict's `current`, a write's answer), so the local store, the app and
 * merge functions only ever see plaintext.
 */
export interface RecordCodec {
  encode(collectionId: string, recordId: string, data: Json): Promise<unknown>
  /**
   * Looks at records from the server before they are decoded (concurrently,
   * one by one): one that is sealed tells that its collection is encrypted
   * even where the app did not say so, and then every record of it must be.
   */
  inspect(records: ServerRecord[]): Promise<void>
  /** The record with its data decrypted. Throws TamperedRecordError (do not show it) or KeyUnavailableError (retry later). */
  decode(record: ServerRecord): Promise<ServerRecord>
}

/** Looks like an envelope: the cue that a collection this device did not know as encrypted is one. */
const looksSealed = (data: unknown): boolean =>
  data !== null && typeof data === 'object' && !Array.isArray(data) && 'v' in data && 'e' in data && 'n' in data && 'c' in data && Object.keys(data).length === 4

export class EncryptingCodec implements RecordCodec {
  constructor(
    private readonly ring: KeyRing,
    private readonly aes: AesGcm
  ) {}

  async encode(collectionId: string, recordId: string, data: Json): Promise<unknown> {
    if (!(await this.ring.isEncryptedForWrite(collectionId))) return data
    const { epoch, key } = await this.ring.writeKey(collectionId)
    return encryptRecord(key, { collectionId, recordId, epoch, data }, this.aes)
  }

  async inspect(records: ServerRecord[]): Promise<void> {
    const sealed = new Set(records.filter((record) => !record.deleted && looksSealed(record.data)).map((record) => record.collectionId))
    for (const collectionId of sealed) {
      // Shared with us, and the app did not say: the server's epochs tell (and make it stick).
      if (!(await this.ring.isEncrypted(collectionId))) await this.ring.refresh(collectionId, { force: true })
    }
  }

  async decode(record: ServerRecord): Promise<ServerRecord> {
    if (record.deleted || record.data === null) return record
    const { collectionId, id: recordId } = record
    if (!(await this.ring.isEncrypted(collectionId))) return record
    const data = await openRecord(
      (epoch) => {
        this.ring.noteEpochRead(collectionId, epoch)
        return this.ring.heldKey(collectionId, epoch) ?? this.ring.keyFor(collectionId, epoch)
      },
      { collectionId, recordId },
      record.data,
      this.aes
    )
    return { ...record, data }
  }
}

