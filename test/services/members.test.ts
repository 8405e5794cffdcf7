import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { locksClient, membersClient, recordsClient, type ClientApplication, type Role } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { failure, newEmail, signedIn, TRANSPORTS, type TestClient } from '../helpers/clients.js'
import { startServer, TestClock, type TestServer } from '../helpers/server.js'

const newCollection = async (client: ClientApplication) => (await client.service('collections').create({})).id

describeBackends('members and invitations', (backend) => {
  let server: TestServer
  const clock = new TestClock()
  const opened: TestClient[] = []
  const user = async (transport: (typeof TRANSPORTS)[number], email = newEmail()) => {
    const client = await signedIn(server.url, transport, email)
    opened.push(client)
    return client
  }

  beforeAll(async () => {
    server = await startServer(backend, {}, { clock: clock.now })
  })
  afterAll(async () => {
    for (const client of opened) client.close()
    await server?.close()
  })

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let owner: TestClient
      beforeAll(async () => {
        owner = await user(transport)
      })

      /** A collection of the owner's with `who` added directly in `role`. */
      const sharedWith = async (who: TestClient, role: Role) => {
        const collectionId = await newCollection(owner.client)
        await membersClient(owner.client, collectionId).create({ userId: who.user.id, role })
        return collectionId
      }

      it('invitation by e-mail, end to end: the invitee sees it, accepts, and is a writer; the collection lists with their role', async () => {
        const collectionId = await newCollection(owner.client)
        const email = newEmail()
        const invitation = await owner.client.service('invitations').create({ collectionId, role: 'writer', email: email.toUpperCase() })
        expect(invitation).toMatchObject({ collectionId, role: 'writer', inviteeEmail: email, inviteeUserId: null, invitedBy: owner.user.id, status: 'pending' })

        // Invited before signing up: the invitation is there once they do.
        const invitee = await user(transport, email)
        const inbox = await invitee.client.service('invitations').find()
        expect(inbox.data.map((item) => item.id)).toEqual([invitation.id])
        expect((await invitee.client.service('collections').find()).data).toEqual([])
        expect((await failure(recordsClient(invitee.client, collectionId).find())).code).toBe(404)

        const accepted = await invitee.client.service('invitations').patch(invitation.id, { status: 'accepted' })
        expect(accepted).toMatchObject({ status: 'accepted', inviteeUserId: invitee.user.id })
        expect(accepted.answeredAt).not.toBeNull()
        expect((await invitee.client.service('invitations').find()).data).toEqual([])

        const listed = await invitee.client.service('collections').find()
        expect(listed.data).toEqual([expect.objectContaining({ id: collectionId, role: 'writer', ownerId: owner.user.id })])
        expect(await invitee.client.service('collections').get(collectionId)).toMatchObject({ role: 'writer' })
        const written = await recordsClient(invitee.client, collectionId).create({ id: 'from-invitee', data: 1 })
        expect(written.updatedBy).toBe(invitee.user.id)
        expect(await membersClient(owner.client, collectionId).get(invitee.user.id)).toMatchObject({ role: 'writer', email })

        // Answered is answered.
        expect(await failure(invitee.client.service('invitations').patch(invitation.id, { status: 'declined' }))).toMatchObject({ code: 409 })
      })

      it('declining, revoking and expiry: none makes a member; an expired invitation is 410 Gone', async () => {
        const collectionId = await newCollection(owner.client)
        const invitee = await user(transport)
        const invitations = owner.client.service('invitations')

        const declined = await invitations.create({ collectionId, role: 'reader', userId: invitee.user.id })
        expect(await invitee.client.service('invitations').patch(declined.id, { status: 'declined' })).toMatchObject({ status: 'declined' })

        const revoked = await invitations.create({ collectionId, role: 'reader', userId: invitee.user.id })
        expect(await invitations.remove(revoked.id)).toMatchObject({ status: 'revoked' })
        expect(await failure(invitee.client.service('invitations').patch(revoked.id, { status: 'accepted' }))).toMatchObject({ code: 409 })

        const expiring = await invitations.create({ collectionId, role: 'reader', userId: invitee.user.id, ttlSeconds: 60 })
        clock.advance(61)
        expect(await invitee.client.service('invitations').get(expiring.id)).toMatchObject({ status: 'expired' })
        expect(await failure(invitee.client.service('invitations').patch(expiring.id, { status: 'accepted' }))).toMatchObject({ code: 410 })

        expect((await membersClient(owner.client, collectionId).find()).data.map((member) => member.userId)).toEqual([owner.user.id])
        const history = await invitations.find({ query: { collectionId } })
        expect(history.data.map((item) => item.status).sort()).toEqual(['declined', 'expired', 'revoked'])
      })

      it('who may invite and answer: admins invite but not as owner; members cannot be invited again; only the invitee answers', async () => {
        const admin = await user(transport)
        const invitee = await user(transport)
        const collectionId = await sharedWith(admin, 'admin')
        const asAdmin = admin.client.service('invitations')

        expect(await failure(asAdmin.create({ collectionId, role: 'owner', userId: invitee.user.id }))).toMatchObject({ code: 403, data: { role: 'admin', needs: 'owner' } })
        const invitation = await asAdmin.create({ collectionId, role: 'admin', userId: invitee.user.id })
        expect(await failure(asAdmin.create({ collectionId, role: 'reader', email: owner.email }))).toMatchObject({ code: 409 })
        expect(await failure(asAdmin.create({ collectionId, role: 'reader' } as never))).toMatchObject({ code: 400 })
        expect(await failure(asAdmin.patch(invitation.id, { status: 'accepted' }))).toMatchObject({ code: 403 })
        expect(await failure(invitee.client.service('invitations').remove(invitation.id))).toMatchObject({ code: 403 })

        // A stranger learns nothing about it.
        const stranger = await user(transport)
        expect(await failure(stranger.client.service('invitations').get(invitation.id))).toMatchObject({ code: 404 })
        expect(await failure(stranger.client.service('invitations').patch(invitation.id, { status: 'accepted' }))).toMatchObject({ code: 404 })
        expect(await failure(stranger.client.service('invitations').find({ query: { collectionId } }))).toMatchObject({ code: 404 })
        expect((await stranger.client.service('invitations').find()).data).toEqual([])
      })

      it('roles: owners change anyone; admins manage writers and readers but not owners; a reader cannot manage', async () => {
        const admin = await user(transport)
        const reader = await user(transport)
        const collectionId = await sharedWith(admin, 'admin')
        const asAdmin = membersClient(admin.client, collectionId)

        expect(await asAdmin.create({ userId: reader.user.id, role: 'reader' })).toMatchObject({ role: 'reader' })
        expect(await asAdmin.patch(reader.user.id, { role: 'writer' })).toMatchObject({ role: 'writer' })
        expect(await failure(asAdmin.create({ userId: reader.user.id, role: 'reader' }))).toMatchObject({ code: 409 })
        expect(await failure(asAdmin.patch(reader.user.id, { role: 'owner' }))).toMatchObject({ code: 403, data: { role: 'admin', needs: 'owner' } })
        expect(await failure(asAdmin.patch(owner.user.id, { role: 'reader' }))).toMatchObject({ code: 403 })
        expect(await failure(asAdmin.remove(owner.user.id))).toMatchObject({ code: 403 })
        expect(await failure(asAdmin.patch('00000000-0000-4000-8000-000000000000', { role: 'reader' }))).toMatchObject({ code: 404 })

        await membersClient(owner.client, collectionId).patch(reader.user.id, { role: 'reader' })
        const asReader = membersClient(reader.client, collectionId)
        expect((await asReader.find()).total).toBe(3)
        expect(await failure(asReader.patch(admin.user.id, { role: 'reader' }))).toMatchObject({ code: 403 })
        expect(await failure(asReader.remove(admin.user.id))).toMatchObject({ code: 403, data: { role: 'reader', needs: 'admin' } })
        expect(await failure(recordsClient(reader.client, collectionId).create({ data: 1 }))).toMatchObject({ code: 403, data: { role: 'reader', needs: 'writer' } })
      })

      it('the last owner can neither leave nor be demoted; with a second owner, either can go', async () => {
        const second = await user(transport)
        const collectionId = await newCollection(owner.client)
        const members = membersClient(owner.client, collectionId)

        expect(await failure(members.remove(owner.user.id))).toMatchObject({ code: 409, data: { reason: 'last-owner' } })
        expect(await failure(members.patch(owner.user.id, { role: 'admin' }))).toMatchObject({ code: 409, data: { reason: 'last-owner' } })

        await members.create({ userId: second.user.id, role: 'owner' })
        // Each demotes the other at the same moment: only one can win, so one owner remains.
        const outcomes = await Promise.allSettled([
          members.patch(second.user.id, { role: 'writer' }),
          membersClient(second.client, collectionId).patch(owner.user.id, { role: 'writer' })
        ])
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1)
        const [rejected] = outcomes.filter((outcome) => outcome.status === 'rejected')
        expect([403, 409]).toContain(((rejected as PromiseRejectedResult).reason as { code: number }).code)
        const roles = await server.storage.listMemberRoles(collectionId)
        expect(roles.filter((member) => member.role === 'owner')).toHaveLength(1)
      })

      it('a member may leave; leaving (or being removed) ends their locks and open batches on that collection', async () => {
        const writer = await user(transport)
        const collectionId = await sharedWith(writer, 'writer')
        const elsewhere = await newCollection(writer.client)

        const lock = await locksClient(writer.client, collectionId).create({ holder: 'phone' })
        await locksClient(writer.client, elsewhere).create({ holder: 'phone' })
        const batches = writer.client.service('batches')
        await batches.create({ id: `leaving-${transport}-${backend.name}` })
        await batches.append({ id: `leaving-${transport}-${backend.name}`, operations: [{ op: 'put', collectionId, id: 'staged', data: 1, ifNotExists: true }] })
        await batches.create({ id: `staying-${transport}-${backend.name}` })
        await batches.append({ id: `staying-${transport}-${backend.name}`, operations: [{ op: 'put', collectionId: elsewhere, id: 'staged', data: 1, ifNotExists: true }] })

        expect(await membersClient(writer.client, collectionId).remove(writer.user.id)).toMatchObject({ userId: writer.user.id, role: 'writer' })

        expect(await locksClient(owner.client, collectionId).find()).toEqual([])
        expect((await locksClient(owner.client, collectionId).create({ holder: 'laptop' })).token).toBeGreaterThan(lock.token)
        expect(await locksClient(writer.client, elsewhere).find()).toHaveLength(1)
        expect(await batches.get(`leaving-${transport}-${backend.name}`)).toMatchObject({ status: 'aborted' })
        expect(await batches.get(`staying-${transport}-${backend.name}`)).toMatchObject({ status: 'open' })
        expect((await failure(recordsClient(writer.client, collectionId).find())).code).toBe(404)
        expect((await writer.client.service('collections').find()).data.map((collection) => collection.id)).toEqual([elsewhere])
      })

      it('only owners delete a collection; admins rename it', async () => {
        const admin = await user(transport)
        const collectionId = await sharedWith(admin, 'admin')
        expect(await admin.client.service('collections').patch(collectionId, { name: 'Pets' })).toMatchObject({ name: 'Pets', role: 'admin' })
        expect(await failure(admin.client.service('collections').remove(collectionId))).toMatchObject({ code: 403 })
        await owner.client.service('collections').remove(collectionId)
        expect((await failure(admin.client.service('collections').get(collectionId))).code).toBe(404)
      })
    })
  }
}, { plainPath: true })
