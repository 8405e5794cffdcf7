import { recordsClient } from '../../src/client.js'
import type { TestClient } from '../helpers/clients.js'
import type { TestServer } from '../helpers/server.js'
import { encodeAny, toJsonText, toQueryString, type FuzzCall, type Json } from './arbitraries.js'
import type { RawSocket } from './raw-socket.js'

/**
 * Sends a generated call over REST (raw fetch) or socket.io (raw packets)
 * and reports how the server answered; takes the snapshot that a refused
 * call must leave unchanged.
 */

/** Every call must be answered within this (a hang is a failure, not a slow test). */
export const ANSWER_BOUND_MS = 5000

export interface Fixture {
  server: TestServer
  owner: TestClient
  token: string
  collectionId: string
}

export interface Answer {
  /** HTTP status, or the socket.io error's code (200 for a result). */
  status: number
  message: string
}

const fill = (fixture: Fixture, text: string) => text.replaceAll('{c}', fixture.collectionId)

const idText = (fixture: Fixture, id: Json): string => (typeof id === 'string' ? fill(fixture, id) : toJsonText(id))

export async function viaRest(fixture: Fixture, call: FuzzCall): Promise<Answer> {
  const collection = call.collection === undefined ? fixture.collectionId : call.collection
  let url = `${fixture.server.url}/${call.path.replace('{c}', encodeAny(collection))}`
  const takesId = call.method === 'get' || call.method === 'update' || call.method === 'patch' || call.method === 'remove'
  if (takesId && call.id !== undefined) url += `/${encodeAny(idText(fixture, call.id))}`
  if (call.query !== undefined) url += `?${fill(fixture, toQueryString(call.query))}`
  const standard: Record<string, string> = { find: 'GET', get: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', remove: 'DELETE' }
  // Anything else is a custom method: POST with X-Service-Method.
  // (Own keys only: the odd method names include "constructor".)
  const custom = !Object.hasOwn(standard, call.method)
  const method = custom ? 'POST' : standard[call.method]
  const body = call.data === undefined || method === 'GET' || method === 'DELETE' ? undefined : fill(fixture, toJsonText(call.data))
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${fixture.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(custom ? { 'x-service-method': call.method } : {})
    },
    body,
    signal: AbortSignal.timeout(ANSWER_BOUND_MS)
  })
  const text = await response.text()
  let message = text.slice(0, 300)
  try {
    message = String((JSON.parse(text) as { message?: unknown }).message ?? message)
  } catch {
    // Not JSON (431 from Node's HTTP parser, for one): keep the text.
  }
  return { status: response.status, message }
}

export async function viaSocket(fixture: Fixture, socket: RawSocket, call: FuzzCall): Promise<Answer> {
  const collection = call.collection === undefined ? fixture.collectionId : call.collection
  const path = call.path.replace('{c}', collection)
  const id = call.id === undefined ? 'null' : typeof call.id === 'string' ? JSON.stringify(fill(fixture, call.id)) : toJsonText(call.id)
  const data = call.data === undefined ? 'null' : fill(fixture, toJsonText(call.data))
  const query = call.query === undefined ? '{}' : fill(fixture, toJsonText(call.query))
  const positions: Record<string, string[]> = {
    find: [query],
    get: [id, query],
    remove: [id, query],
    update: [id, data, query],
    patch: [id, data, query]
  }
  // create and custom methods (and names no service has) take data and params.
  const args = Object.hasOwn(positions, call.method) ? positions[call.method] : [data, query]
  const { error } = await socket.call(call.method, path, args, ANSWER_BOUND_MS)
  if (error === null) return { status: 200, message: '' }
  // An error without a code is not a Feathers error: something broke before the hooks.
  return { status: typeof error.code === 'number' ? error.code : 599, message: String(error.message ?? '') }
}

/** What a refused call must not change: the fixture user's collections, the fixture's records, feed position, members, invitations and locks, batch b1. */
export async function snapshot(fixture: Fixture) {
  const { storage } = fixture.server
  const now = new Date().toISOString()
  const page = { sort: [['seq', 1]] as Array<['seq', 1]>, limit: 1000, skip: 0 }
  const id = fixture.collectionId
  return {
    collections: await storage.listCollections({ memberId: fixture.owner.user.id, limit: 1000, skip: 0 }),
    fixture: await storage.getCollection(id),
    live: await storage.findRecords(id, { ...page, deleted: false }),
    tombstones: await storage.findRecords(id, { ...page, deleted: true }),
    members: await storage.listMembers(id, { limit: 1000, skip: 0 }),
    invitations: await storage.listInvitations({ collectionId: id, now, limit: 1000, skip: 0 }),
    locks: (await storage.listLocks(id, now)).map((lock) => ({ ...lock, expiresAt: undefined })),
    batch: await storage.getBatch('b1', now),
    user: await storage.getUser(fixture.owner.user.id)
  }
}

/** A successful hostile call may have deleted the fixture: put it back (with record r1) so later calls have something to aim at. */
export async function restoreFixture(fixture: Fixture): Promise<void> {
  if ((await fixture.server.storage.getCollection(fixture.collectionId)) !== undefined) return
  await fixture.owner.client.service('collections').create({ id: fixture.collectionId, name: 'fuzz fixture' })
  await recordsClient(fixture.owner.client, fixture.collectionId).create({ id: 'r1', data: { n: 1 } })
}

/** The server still answers: a plain read of the fixture over REST. */
export async function healthy(fixture: Fixture): Promise<boolean> {
  const response = await fetch(`${fixture.server.url}/collections/${fixture.collectionId}`, {
    headers: { authorization: `Bearer ${fixture.token}` },
    signal: AbortSignal.timeout(ANSWER_BOUND_MS)
  })
  await response.arrayBuffer()
  return response.status === 200
}
