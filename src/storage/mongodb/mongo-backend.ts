import { MongoClient, MongoError, type Db } from 'mongodb'
import type { Logger } from '../../logger.js'
import type { Backend, KeyEpochRow, StorageTx, Tx } from '../backend.js'
import type {
  ChangesPage,
  ChangesParams,
  CollectionWithRole,
  FindRecordsParams,
  ListCollectionsParams,
  ListInvitationsParams,
  ListOpenBatchesParams,
  MemberRole,
  NewUser,
  OpenBatchSummary,
  Page,
  PoolStats,
  PurgeResult,
  StagedOperation,
  StoredBatch,
  StoredCollection,
  StoredCollectionKey,
  StoredIdempotencyKey,
  StoredInvitation,
  StoredLock,
  StoredMember,
  StoredRecord,
  StoredUser,
  StoredUserKey,
  StorageStats
} from '../types.js'
import { collectionsOf, type MongoCollections } from './mongo-collections.js'
import { translateDriverError } from './errors.js'
import * as writes from './plain-writes.js'
import { PoolWatch } from './pool-watch.js'
import * as batches from './queries/batches.js'
import * as dashboard from './queries/dashboard.js'
import * as keys from './queries/keys.js'
import * as records from './queries/records.js'
import * as sharing from './queries/sharing.js'
import { applySchemaSteps } from './schema-version.js'
import { checkServer } from './server-check.js'
import { runTransaction } from './transaction.js'

export interface MongoBackendOptions {
  logger?: Logger
  /** The driver's maxPoolSize per server (config databasePoolSize), unless the URL sets `maxPoolSize` itself. */
  poolSize?: number
}

/** The database named in the URL's path (mongodb://host/roost → "roost"); "roost" when it names none. */
export function databaseName(url: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1] ?? ''
  return path === '' ? 'roost' : decodeURIComponent(path)
}

/**
 * MongoDB (a replica set or sharded cluster, 6.0 or newer) through the
 * official driver: the mechanisms of ../backend.ts, nothing more. Writes run
 * in transactions (./transaction.ts, ./tx/), reads on their own
 * (./queries/), and every driver error leaves as a StorageError
 * (./errors.ts).
 */
export class MongoBackend implements Backend {
  readonly name = 'mongodb'
  private readonly client: MongoClient
  private readonly db: Db
  private readonly c: MongoCollections
  private readonly logger: Logger | undefined
  private readonly pool: PoolWatch

  constructor(url: string, options: MongoBackendOptions = {}) {
    // Options given here would override the URL's; the URL's own maxPoolSize is the operator's more specific choice.
    const urlSetsPool = /[?&]maxPoolSize=/i.test(url)
    this.client = new MongoClient(url, options.poolSize === undefined || urlSetsPool ? {} : { maxPoolSize: options.poolSize })
    // Reads at the primary, whatever the URL says: a secondary may not yet have what was acknowledged.
    this.db = this.client.db(databaseName(url), { readPreference: 'primary' })
    this.c = collectionsOf(this.db)
    this.logger = options.logger
    this.pool = new PoolWatch(this.client)
  }

  /** Checks the server (./server-check.ts), then applies the schema steps it lacks (./schema-version.ts). */
  async migrate(): Promise<void> {
    const [hello, buildInfo] = await this.run(async () => {
      await this.client.connect()
      const admin = this.db.admin()
      return [await admin.command({ hello: 1 }), await admin.command({ buildInfo: 1 })] as const
    })
    checkServer(hello, buildInfo)
    try {
      await applySchemaSteps(this.db, this.logger)
    } catch (error) {
      // Its own errors say what is wrong with the database to the operator: kept as they are.
      throw error instanceof MongoError ? translateDriverError(error) : error
    }
  }

  async ping(): Promise<void> {
    await this.run(() => this.db.command({ ping: 1 }))
  }

  poolStats(): PoolStats {
    return this.pool.stats()
  }

  async close(): Promise<void> {
    await this.client.close()
  }

  transaction<T>(work: (tx: StorageTx) => Tx<T>): Promise<T> {
    return runTransaction(this.client, this.c, work)
  }

  // Writes no rule governs

  createUser(user: NewUser, at: string): Promise<StoredUser> {
    return this.run(() => writes.createUser(this.c, user, at))
  }

  setUserPassword(id: string, password: string): Promise<boolean> {
    return this.run(() => writes.setUserPassword(this.c, id, password))
  }

  purgeExpired(now: string, retainUntil: string): Promise<PurgeResult> {
    return this.run(() => writes.purgeExpired(this.c, now, retainUntil))
  }

  expireLeases(now: string): Promise<StoredLock[]> {
    return this.run(() => writes.expireLeases(this.c, now))
  }

  // Reads (BackendQueries)

  getUser(id: string): Promise<StoredUser | undefined> {
    return this.run(() => records.getUser(this.c, id))
  }

  findUserByEmail(email: string): Promise<StoredUser | undefined> {
    return this.run(() => records.findUserByEmail(this.c, email))
  }

  getCollection(id: string): Promise<StoredCollection | undefined> {
    return this.run(() => records.getCollection(this.c, id))
  }

  getCollectionAccess(collectionId: string, userId: string): Promise<{ collection: StoredCollection; role: MemberRole | undefined } | undefined> {
    return this.run(() => records.getCollectionAccess(this.c, collectionId, userId))
  }

  listCollections(params: ListCollectionsParams): Promise<Page<CollectionWithRole>> {
    return this.run(() => records.listCollections(this.c, params))
  }

  getRecord(collectionId: string, id: string): Promise<StoredRecord | undefined> {
    return this.run(() => records.getRecord(this.c, collectionId, id))
  }

  findRecords(collectionId: string, params: FindRecordsParams): Promise<Page<StoredRecord>> {
    return this.run(() => records.findRecords(this.c, collectionId, params))
  }

  changesSince(collectionId: string, params: ChangesParams): Promise<ChangesPage> {
    return this.run(() => records.changesSince(this.c, collectionId, params))
  }

  getBatch(id: string, now: string): Promise<StoredBatch | undefined> {
    return this.run(() => batches.getBatch(this.c, id, now))
  }

  listOperations(batchId: string): Promise<StagedOperation[]> {
    return this.run(() => batches.listOperations(this.c, batchId))
  }

  getIdempotencyKey(userId: string, key: string, now: string): Promise<StoredIdempotencyKey | undefined> {
    return this.run(() => batches.getIdempotencyKey(this.c, userId, key, now))
  }

  listLocks(collectionId: string, now: string): Promise<StoredLock[]> {
    return this.run(() => batches.listLocks(this.c, collectionId, now))
  }

  listMembers(collectionId: string, page: { limit: number; skip: number }): Promise<Page<StoredMember>> {
    return this.run(() => sharing.listMembers(this.c, collectionId, page))
  }

  listMemberRoles(collectionId: string): Promise<Array<{ userId: string; role: MemberRole }>> {
    return this.run(() => sharing.listMemberRoles(this.c, collectionId))
  }

  getMember(collectionId: string, userId: string): Promise<StoredMember | undefined> {
    return this.run(() => sharing.getMember(this.c, collectionId, userId))
  }

  getInvitation(id: string, now: string): Promise<StoredInvitation | undefined> {
    return this.run(() => sharing.getInvitation(this.c, id, now))
  }

  listInvitations(params: ListInvitationsParams): Promise<Page<StoredInvitation>> {
    return this.run(() => sharing.listInvitations(this.c, params))
  }

  getUserKey(userId: string): Promise<StoredUserKey | undefined> {
    return this.run(() => keys.getUserKey(this.c, userId))
  }

  keyEpochs(collectionId: string): Promise<KeyEpochRow[]> {
    return this.run(() => keys.keyEpochs(this.c, collectionId))
  }

  missingCollectionKeys(collectionId: string): Promise<Array<{ epoch: number; userId: string }>> {
    return this.run(() => keys.missingCollectionKeys(this.c, collectionId))
  }

  listCollectionKeys(collectionId: string, params: { userId?: string; epoch?: number; limit: number; skip: number }): Promise<Page<StoredCollectionKey>> {
    return this.run(() => keys.listCollectionKeys(this.c, collectionId, params))
  }

  listOpenBatches(params: ListOpenBatchesParams): Promise<OpenBatchSummary[]> {
    return this.run(() => dashboard.listOpenBatches(this.c, params))
  }

  stats(now: string): Promise<StorageStats> {
    return this.run(() => dashboard.stats(this.c, now))
  }

  /** Runs driver calls outside a transaction, translating whatever the driver throws. */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw translateDriverError(error)
    }
  }
}
