/**
 * Roost's offline-first client: `import { createRoost } from 'roost/client'`.
 * Browser-safe; the SQLite store for Node is `roost/client/sqlite`, the
 * IndexedDB store for browsers `roost/client/indexeddb`.
 */
export { createRoost, Roost, type RoostOptions, type CollectionOptions } from './roost.js'
export type { Collection, RecordView, TransactionScope, PageQuery, RecordsPage } from './collection.js'
export type { ServerApi } from './server-api.js'
export type { ServerStats, CollectionBatch, ExportDownload } from './server-types.js'
export type { Invitation } from '../services/invitations/invitations.shared.js'
export type { Member, Role } from '../services/members/members.shared.js'
export type { Collection as ServerCollection } from '../services/collections/collections.shared.js'
export type { AuthOptions } from './session.js'
export type { WriteReceipt, Resolution } from './engine/local-writes.js'
export type { LockHandle, LockOptions } from './engine/locks.js'
export { memoryStore, MemoryStore } from './stores/memory.js'
export type { ClientStore, StoreChange, PageOptions, RecordPage } from './stores/types.js'
export { RoostError, ClientInputError } from './errors.js'
export { signUp } from './sign-up.js'
export { signIn, type SignedInUser } from './sign-in.js'
export type * from './types.js'
export type { TamperedRecord } from './roost.js'
export type { AccountApi } from './e2e/account.js'
export type { SharingApi } from './e2e/sharing.js'
export { AccountKeysMissingError, AccountKeysExistError, KeyUnavailableError, KeyChangedError, WrongRecoveryPhraseError } from './e2e/errors.js'
export { InvalidRecoveryPhraseError } from './crypto/recovery-phrase.js'
export { TamperedRecordError } from './crypto/errors.js'
export type { AesGcm } from './crypto/aes-gcm.js'
