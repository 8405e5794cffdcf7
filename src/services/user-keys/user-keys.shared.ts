import type { ClientApplication } from '../../client.js'
import type { PassphraseWrap, UserKey, UserKeyPatch, UserKeyUpdate } from './user-keys.schema.js'

export type { PassphraseWrap, UserKey, UserKeyPatch, UserKeyUpdate }

export const userKeyPath = 'user-keys'
export const userKeyMethods = ['get', 'update', 'patch'] as const

export const userKeyClient = (client: ClientApplication) => {
  client.use(userKeyPath, client.get('connection').service(userKeyPath), { methods: [...userKeyMethods] })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [userKeyPath]: {
      /** Anyone's public key, by user id (404 if they have none); `passphraseWrap` only on your own. */
      get(userId: string): Promise<UserKey>
      /** Set (baseKeyVersion 0) or replace your key: 409 with `data.current` if it is not at baseKeyVersion. */
      update(userId: string, data: UserKeyUpdate): Promise<UserKey>
      /** Set or clear only your passphrase copy. */
      patch(userId: string, data: UserKeyPatch): Promise<UserKey>
    }
  }
}
