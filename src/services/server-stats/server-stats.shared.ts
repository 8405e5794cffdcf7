import type { ClientApplication } from '../../client.js'
import type { ServerStats } from './server-stats.schema.js'

export type { ServerStats }

export const serverStatsPath = 'server-stats'
export const serverStatsMethods = ['find'] as const

/** The operator view, on a client: one object (not paginated). 403 for anyone not in the `operators` setting. */
export interface ServerStatsClientService {
  find(): Promise<ServerStats>
}

declare module '../../client.js' {
  interface ClientServiceTypes {
    [serverStatsPath]: ServerStatsClientService
  }
}

export const serverStatsClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(serverStatsPath, connection.service(serverStatsPath), { methods: [...serverStatsMethods] })
}
