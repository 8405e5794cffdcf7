/**
 * TEMPORARY (delete at the merge of `dash-client`): a stand-in for
 * `roost.server` over plain REST, so the views can be built and tested before
 * the client library's lands. Only what the views of branch `dash-shell`
 * call; no encryption (encrypted create, invite and remove need the client's
 * own sharing) and no local forgetting.
 */
import type { Collection } from '../../services/collections/collections.shared.js'
import type { Invitation } from '../../services/invitations/invitations.shared.js'
import type { Member, Role } from '../../services/members/members.shared.js'
import { RestTransport } from '../../client/transport/rest.js'
import type { ServerApi, ServerStats } from './server.js'

interface Page<T> {
  total: number
  data: T[]
}

const enc = encodeURIComponent

export function fallbackServerApi(token: () => string | null): ServerApi {
  const rest = new RestTransport({ url: location.origin, token, timeoutMs: 30_000 })
  const all = async <T>(path: string, query: Record<string, string> = {}): Promise<T[]> => {
    const items: T[] = []
    for (;;) {
      const page = await rest.call<Page<T>>({ method: 'GET', path, query: { ...query, $limit: 100, $skip: items.length } })
      items.push(...page.data)
      if (page.data.length === 0 || items.length >= page.total) return items
    }
  }
  const notYet = (what: string) => () => Promise.reject(new Error(`${what}: waiting for the client library's roost.server`))
  const api: ServerApi = {
    collections: () => all<Collection>('collections'),
    async collection(id) {
      const collection = await rest.call<Collection>({ method: 'GET', path: `collections/${enc(id)}` })
      const epochs = await rest.call<unknown[] | Page<unknown>>({ method: 'GET', path: `collections/${enc(id)}/key-epochs` }).catch(() => [])
      const count = Array.isArray(epochs) ? epochs.length : epochs.total
      return { ...collection, encrypted: count > 0 }
    },
    async createCollection(data) {
      if (data.encrypted) throw new Error('Encrypted collections need the client library’s roost.server')
      const body: { id?: string; name?: string | null } = {}
      if (data.id) body.id = data.id
      if (data.name !== undefined) body.name = data.name
      return rest.call<Collection>({ method: 'POST', path: 'collections', body })
    },
    renameCollection: (id, name) => rest.call<Collection>({ method: 'PATCH', path: `collections/${enc(id)}`, body: { name } }),
    async deleteCollection(id) {
      await rest.call({ method: 'DELETE', path: `collections/${enc(id)}` })
    },
    members: (collectionId) => all<Member>(`collections/${enc(collectionId)}/members`),
    setRole: (collectionId, userId, role: Role) => rest.call<Member>({ method: 'PATCH', path: `collections/${enc(collectionId)}/members/${enc(userId)}`, body: { role } }),
    async removeMember(collectionId, userId) {
      await rest.call({ method: 'DELETE', path: `collections/${enc(collectionId)}/members/${enc(userId)}` })
    },
    async leave(collectionId) {
      const raw = sessionStorage.getItem('roost-dashboard-session')
      const userId = raw ? (JSON.parse(raw) as { userId: string }).userId : ''
      await rest.call({ method: 'DELETE', path: `collections/${enc(collectionId)}/members/${enc(userId)}` })
    },
    invitations: () => all<Invitation>('invitations', { status: 'pending' }),
    sentInvitations: (collectionId) => all<Invitation>('invitations', { collectionId, status: 'pending' }),
    invite: (collectionId, email, role) => rest.call<Invitation>({ method: 'POST', path: 'invitations', body: { collectionId, email, role } }),
    acceptInvitation: (id) => rest.call<Invitation>({ method: 'PATCH', path: `invitations/${enc(id)}`, body: { status: 'accepted' } }),
    declineInvitation: (id) => rest.call<Invitation>({ method: 'PATCH', path: `invitations/${enc(id)}`, body: { status: 'declined' } }),
    revokeInvitation: (id) => rest.call<Invitation>({ method: 'DELETE', path: `invitations/${enc(id)}` }),
    locks: notYet('locks'),
    breakLock: notYet('breakLock'),
    openBatches: notYet('openBatches'),
    async records(collectionId, options) {
      const page = await rest.call<Page<never>>({
        method: 'GET',
        path: `collections/${enc(collectionId)}/records`,
        query: { $limit: options.limit, $skip: options.offset, deleted: options.deleted ? 'true' : undefined }
      })
      return { total: page.total, records: page.data }
    },
    stats: () => rest.call<ServerStats>({ method: 'GET', path: 'server-stats' }),
    exportData: notYet('exportData')
  }
  return api
}
