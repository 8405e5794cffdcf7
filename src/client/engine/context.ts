import type { RestTransport } from '../transport/rest.js'
import type { ClientStore } from '../stores/types.js'
import type { ConflictPolicy, WriteOutcome, Progress, ServerChange, ServerRecord } from '../types.js'
import type { Emitter } from '../observable.js'
import type { RecordCodec } from '../e2e/codec.js'
import type { TamperedRecordError } from '../crypto/errors.js'

/**
 * What the parts of the sync engine share. One object per client; the
 * parts (local writes, push, pull, locks) are functions over it.
 */
export interface EngineContext {
  store: ClientStore
  rest: RestTransport
  /** The signed-in user's id, once known. */
  userId(): string | null
  policy(collectionId: string): ConflictPolicy
  /** Collections whose records changed locally or from the server: watchers re-read. */
  changed(collectionIds: Iterable<string>): void
  outcomes: Emitter<WriteOutcome>
  progress: Emitter<Progress>
  /** The most operations one batch append carries, and its soft byte budget. */
  appendOperations: number
  appendBytes: number
  now(): string
  /** Record data on the wire: plaintext, or envelopes in encrypted collections (decrypted on the way in). */
  codec: RecordCodec
  /** Server changes applied to the store (each seq once), for `roost.onServerChange`. */
  serverChanges(changes: ServerChange[]): void
  /** The app forgot the collection (`roost.forget`) meanwhile: a pull in flight stores nothing more of it. */
  forgotten(collectionId: string): boolean
  /** A record from the server failed to decrypt: report it (it is not shown). */
  tampered(error: TamperedRecordError, record: ServerRecord): void
}
