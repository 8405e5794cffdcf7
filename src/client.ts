import authenticationClientModule, { type AuthenticationClientOptions } from '@feathersjs/authentication-client'
import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { batchClient } from './services/batches/batches.shared.js'
import { collectionClient } from './services/collections/collections.shared.js'
import { invitationClient } from './services/invitations/invitations.shared.js'
import { subscriptionClient } from './services/subscriptions/subscriptions.shared.js'
import { serverStatsClient } from './services/server-stats/server-stats.shared.js'
import { userKeyClient } from './services/user-keys/user-keys.shared.js'
import { userClient } from './services/users/users.shared.js'

export type { Batch, BatchOperation, BatchResult } from './services/batches/batches.shared.js'
export type { ChangesPageResult } from './services/changes/changes.shared.js'
export type { CollectionBatch } from './services/collection-batches/collection-batches.shared.js'
export { collectionBatchesClient, collectionBatchesPath } from './services/collection-batches/collection-batches.shared.js'
export { changesClient, changesPath } from './services/changes/changes.shared.js'
export type { ChangeEvent, Collection } from './services/collections/collections.shared.js'
export type { CollectionKey, CollectionKeyQuery, CollectionKeysAdd, WrappedKey, WrappedKeyInput } from './services/collection-keys/collection-keys.shared.js'
export { collectionKeysClient, collectionKeysPath } from './services/collection-keys/collection-keys.shared.js'
export type { Invitation, InvitationAnswer, InvitationCreate } from './services/invitations/invitations.shared.js'
export type { KeyEpoch, KeyEpochCreate, KeyEpochCreated, KeysEvent } from './services/key-epochs/key-epochs.shared.js'
export { keyEpochsClient, keyEpochsPath } from './services/key-epochs/key-epochs.shared.js'
export type { Lock, LockEvent, LockRelease, LockRemoveQuery } from './services/locks/locks.shared.js'
export type { Member, MemberAdd, MemberEvent, MemberPatch, Role } from './services/members/members.shared.js'
export { membersClient, membersPath } from './services/members/members.shared.js'
export { locksClient, locksPath, LOCK_TOKEN_HEADER } from './services/locks/locks.shared.js'
export type { LockTokenQuery, RecordItem } from './services/records/records.shared.js'
export { recordsClient, recordsPath } from './services/records/records.shared.js'
export type { ServerStats } from './services/server-stats/server-stats.shared.js'
export { serverStatsPath } from './services/server-stats/server-stats.shared.js'
export type { Subscription } from './services/subscriptions/subscriptions.shared.js'
export type { PassphraseWrap, UserKey, UserKeyPatch, UserKeyUpdate } from './services/user-keys/user-keys.shared.js'
export type { User } from './services/users/users.shared.js'

// A CommonJS package: under Node's ESM loader its default export is `.default`.
const authenticationClient = authenticationClientModule.default

/**
 * Registers (once) and returns the client-side service for a path with
 * route parameters filled in, such as `collections/abc/records`.
 */
export function nestedService<S>(client: ClientApplication, path: string, methods: readonly string[]): S {
  const app = client as unknown as Application
  if (!app.services[path]) app.use(path, client.get('connection').service(path as never) as never, { methods: [...methods] })
  return app.service(path) as unknown as S
}

/** Each service's shared file adds its typed entry here. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ClientServiceTypes {}

export interface ClientConfiguration {
  connection: TransportConnection<ClientServiceTypes>
}

export type ClientApplication = Application<ClientServiceTypes, ClientConfiguration>

/**
 * A typed Feathers client for Roost over REST or socket.io. It imports only
 * the services' shared files, never server code. The records and changes of
 * a collection are reached with `recordsClient(client, id)` and
 * `changesClient(client, id)`.
 *
 * @example
 *   const client = createClient(socketio(io('http://localhost:3030')))
 *   await client.authenticate({ strategy: 'local', email, password })
 */
export const createClient = <Configuration = unknown>(
  connection: TransportConnection<ClientServiceTypes>,
  authenticationOptions: Partial<AuthenticationClientOptions> = {}
) => {
  const client: ClientApplication = feathers()
  client.configure(connection)
  client.configure(authenticationClient(authenticationOptions))
  client.set('connection', connection)
  client.configure(userClient)
  client.configure(collectionClient)
  client.configure(subscriptionClient)
  client.configure(batchClient)
  client.configure(invitationClient)
  client.configure(userKeyClient)
  client.configure(serverStatsClient)
  return client as ClientApplication & { configuration?: Configuration }
}
