import { randomBytes } from 'node:crypto'
import { memoryStore, type Roost } from '../../../src/client/index.js'
import type { TestServer } from '../../helpers/server.js'
import { account, session, synced, type Clients } from '../helpers.js'

/** A marker no other test writes: found in the database only if plaintext leaked. */
export const marker = () => `PLAINTEXT-${randomBytes(8).toString('hex')}`

/** A new user with account keys on a first device: their client, credentials, REST session and recovery phrase. */
export async function userWithKeys(server: TestServer, clients: Clients, options: { realtime?: boolean } = {}) {
  const user = await account(server.url)
  const roost = clients.create({ url: server.url, auth: user, store: memoryStore(), realtime: options.realtime ?? true })
  const { recoveryPhrase } = await roost.account.create()
  const api = await session(server.url, user)
  return { ...user, roost, api, recoveryPhrase }
}

export type KeyedUser = Awaited<ReturnType<typeof userWithKeys>>

/** Accepts the user's pending invitation to a collection through the REST API (as an app would). */
export async function acceptInvitation(user: KeyedUser, collectionId: string) {
  const pending = await user.api('GET', 'invitations')
  const invitation = (pending.body.data as Array<{ id: string; collectionId: string }>).find((candidate) => candidate.collectionId === collectionId)
  if (!invitation) throw new Error(`no pending invitation to ${collectionId}: ${JSON.stringify(pending.body)}`)
  const answer = await user.api('PATCH', `invitations/${invitation.id}`, { status: 'accepted' })
  if (answer.status !== 200) throw new Error(`accepting failed: ${answer.status} ${JSON.stringify(answer.body)}`)
}

/** The client's live records as { id: data }, once synced. */
export async function readAll(roost: Roost, collectionId: string, options: { encrypted?: boolean } = {}) {
  const collection = roost.collection(collectionId, options)
  await synced(roost, 20_000)
  return Object.fromEntries((await collection.list()).map((record) => [record.id, record.data]))
}

/** The raw record data on the server (envelopes in an encrypted collection), as { id: data }. */
export async function rawServerData(user: KeyedUser, collectionId: string): Promise<Record<string, any>> {
  const { status, body } = await user.api('GET', `collections/${collectionId}/records?$limit=1000`)
  if (status !== 200) throw new Error(`find failed: ${status} ${JSON.stringify(body)}`)
  return Object.fromEntries((body.data as Array<{ id: string; data: unknown }>).map((record) => [record.id, record.data]))
}
