import type { ClientApplication } from '../../client.js'
import type { User, UserData } from './users.schema.js'

export type { User, UserData }

export const userPath = 'users'
export const userMethods = ['create', 'get'] as const

export const userClient = (client: ClientApplication) => {
  client.use(userPath, client.get('connection').service(userPath), { methods: [...userMethods] })
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [userPath]: {
      create(data: UserData): Promise<User>
      get(id: string): Promise<User>
    }
  }
}
