import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  locksClient,
  membersClient,
  recordsClient,
  type ChangeEvent,
  type Collection,
  type Invitation,
  type LockEvent,
  type MemberEvent
} from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { eventually, signedIn, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/** Everything a socket hears from the collections and invitations services. */
function listen(client: TestClient) {
  const heard = {
    changes: [] as ChangeEvent[],
    locks: [] as LockEvent[],
    members: [] as MemberEvent[],
    collections: [] as Array<[string, Collection]>,
    invitations: [] as Array<[string, Invitation]>
  }
  const on = (path: string) => client.client.service(path as never) as unknown as { on(event: string, listener: (data: never) => void): void }
  on('collections').on('change', (event: ChangeEvent) => heard.changes.push(event))
  on('collections').on('lock', (event: LockEvent) => heard.locks.push(event))
  on('collections').on('member', (event: MemberEvent) => heard.members.push(event))
  for (const name of ['created', 'patched', 'removed']) {
    on('collections').on(name, (collection: Collection) => heard.collections.push([name, collection]))
    on('invitations').on(name, (invitation: Invitation) => heard.invitations.push([name, invitation]))
  }
  return heard
}

type Heard = ReturnType<typeof listen>
const idsOf = (heard: Heard, collectionId: string) => ({
  changes: heard.changes.filter((event) => event.collectionId === collectionId).map((event) => event.record.id),
  locks: heard.locks.filter((event) => event.collectionId === collectionId).map((event) => event.type),
  members: heard.members.filter((event) => event.collectionId === collectionId).map((event) => `${event.type} ${event.member.role}`),
  collections: heard.collections.filter(([, collection]) => collection.id === collectionId).map(([name]) => name)
})

describeBackends('channels: sharing isolation', (backend) => {
  let server: TestServer
  let owner: TestClient // writes over REST
  let reader: TestClient
  let writer: TestClient
  let stranger: TestClient
  let leaver: TestClient // a reader removed while connected and subscribed

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
    ;[reader, writer, stranger, leaver] = await Promise.all([1, 2, 3, 4].map(() => signedIn(server.url, 'socketio')))
  })
  afterAll(async () => {
    for (const client of [owner, reader, writer, stranger, leaver]) client?.close()
    await server?.close()
  })

  it('members hear what their role lets them read; strangers hear nothing; a member removed while connected stops hearing at once', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const members = membersClient(owner.client, collectionId)
    const heard = { reader: listen(reader), writer: listen(writer), stranger: listen(stranger), leaver: listen(leaver) }

    for (const [client, role] of [[reader, 'reader'], [writer, 'writer'], [leaver, 'reader']] as const) {
      await members.create({ userId: client.user.id, role })
      await client.client.service('subscriptions').create({ collectionId })
    }
    const records = recordsClient(owner.client, collectionId)
    await records.create({ id: 'before', data: 1 })
    await locksClient(writer.client, collectionId).create({ holder: 'phone', mode: 'shared' })
    await eventually(() => heard.leaver.changes.length === 1 && heard.leaver.locks.length === 1, 'the leaver hearing the first change and lock')

    // Removed while connected and subscribed: the next events skip their socket.
    await members.remove(leaver.user.id)
    await records.create({ id: 'after', data: 2 })
    await locksClient(writer.client, collectionId).remove('phone')
    await owner.client.service('collections').patch(collectionId, { name: 'Renamed' })
    // socket.io delivers in order: once the reader heard the rename, everything before it reached every socket it would reach.
    await eventually(() => idsOf(heard.reader, collectionId).collections.includes('patched'), 'the reader hearing the rename')

    expect(idsOf(heard.reader, collectionId)).toEqual({
      changes: ['before', 'after'],
      locks: ['acquired', 'released'],
      members: ['added reader', 'added writer', 'added reader', 'removed reader'],
      collections: ['patched']
    })
    expect(idsOf(heard.writer, collectionId).changes).toEqual(['before', 'after'])
    // Each hears the collection with their own role, not the owner's who renamed it.
    await eventually(() => idsOf(heard.writer, collectionId).collections.includes('patched'), 'the writer hearing the rename')
    expect(heard.reader.collections.find(([name]) => name === 'patched')?.[1]).toMatchObject({ name: 'Renamed', role: 'reader' })
    expect(heard.writer.collections.find(([name]) => name === 'patched')?.[1]).toMatchObject({ name: 'Renamed', role: 'writer' })
    expect(idsOf(heard.leaver, collectionId)).toEqual({
      changes: ['before'],
      locks: ['acquired'],
      // They learn of their own removal, and nothing after it.
      members: ['added reader', 'removed reader'],
      collections: []
    })
    expect(await leaver.client.service('subscriptions').find()).toEqual([])
    expect(heard.stranger).toEqual({ changes: [], locks: [], members: [], collections: [], invitations: [] })
  })

  it('a subscriber whose role is removed by a demotion-then-removal race still hears nothing after removal; re-added, they must subscribe again', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const members = membersClient(owner.client, collectionId)
    const heard = listen(leaver)
    await members.create({ userId: leaver.user.id, role: 'writer' })
    await leaver.client.service('subscriptions').create({ collectionId })
    await members.patch(leaver.user.id, { role: 'reader' })
    await members.remove(leaver.user.id)
    await members.create({ userId: leaver.user.id, role: 'reader' })
    await recordsClient(owner.client, collectionId).create({ id: 'unheard', data: 1 })
    await leaver.client.service('subscriptions').create({ collectionId })
    await recordsClient(owner.client, collectionId).create({ id: 'heard', data: 2 })
    await eventually(() => heard.changes.some((event) => event.record.id === 'heard'), 'the change after subscribing again')
    expect(idsOf(heard, collectionId).changes).toEqual(['heard'])
    expect(idsOf(heard, collectionId).members).toEqual(['added writer', 'changed reader', 'removed reader', 'added reader'])
  })

  it('invitations are heard by the invitee and the collection’s managers only; deleting a collection is heard by its members', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    await membersClient(owner.client, collectionId).create({ userId: writer.user.id, role: 'admin' })
    await membersClient(owner.client, collectionId).create({ userId: reader.user.id, role: 'reader' })
    const heard = { admin: listen(writer), reader: listen(reader), stranger: listen(stranger), invitee: listen(leaver) }

    const invitation = await owner.client.service('invitations').create({ collectionId, role: 'reader', email: leaver.email })
    await eventually(() => heard.invitee.invitations.length === 1 && heard.admin.invitations.length === 1, 'the invitation event')
    await leaver.client.service('invitations').patch(invitation.id, { status: 'declined' })
    await eventually(() => heard.admin.invitations.length === 2, 'the answer reaching the admin')
    expect(heard.admin.invitations.map(([name, item]) => `${name} ${item.status}`)).toEqual(['created pending', 'patched declined'])
    expect(heard.invitee.invitations.map(([name, item]) => `${name} ${item.status}`)).toEqual(['created pending', 'patched declined'])

    await owner.client.service('collections').remove(collectionId)
    await eventually(() => idsOf(heard.reader, collectionId).collections.includes('removed'), 'the reader hearing the deletion')
    expect(idsOf(heard.admin, collectionId).collections).toContain('removed')
    expect(heard.reader.invitations).toEqual([])
    expect(heard.stranger.invitations).toEqual([])
    expect(idsOf(heard.stranger, collectionId).collections).toEqual([])
    expect(idsOf(heard.invitee, collectionId).collections).toEqual([])
  })

  it('an invitation made moot by a membership change is heard as revoked by the invitee', async () => {
    const { id: collectionId } = await owner.client.service('collections').create({})
    const heard = listen(leaver)
    const invitation = await owner.client.service('invitations').create({ collectionId, role: 'admin', email: leaver.email })
    await membersClient(owner.client, collectionId).create({ userId: leaver.user.id, role: 'reader' })
    await eventually(() => heard.invitations.length === 2, 'the invitation and its revocation')
    expect(heard.invitations.map(([name, item]) => `${name} ${item.id === invitation.id ? 'same' : 'other'} ${item.status}`)).toEqual([
      'created same pending',
      'patched same revoked'
    ])
  })
})
