import { useEffect, useState } from 'preact/hooks'
import type { Roost } from '../../client/index.js'
import { serverApi } from './server.js'

/**
 * user id → e-mail of a collection's members, to name who wrote a record or
 * holds a lock. Re-read when membership changes; empty while offline (ids
 * are shown instead).
 */
export function useMemberEmails(roost: Roost, collectionId: string): ReadonlyMap<string, string> {
  const [emails, setEmails] = useState<ReadonlyMap<string, string>>(new Map())
  useEffect(() => {
    let stopped = false
    const load = () =>
      serverApi()
        .members(collectionId)
        .then((members) => !stopped && setEmails(new Map(members.map((member) => [member.userId, member.email]))))
        .catch(() => undefined)
    void load()
    const off = roost.onCollectionEvent((event) => event.collectionId === collectionId && event.type === 'member' && void load())
    return () => {
      stopped = true
      off()
    }
  }, [roost, collectionId])
  return emails
}

/** The e-mail of a member, else the id as it is (a former member, or members not loaded). */
export const whoIs = (emails: ReadonlyMap<string, string>, userId: string | null | undefined) => (userId ? (emails.get(userId) ?? userId) : '—')
