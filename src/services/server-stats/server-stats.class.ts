import type { Params } from '@feathersjs/feathers'
import type { Server } from 'socket.io'
import { requireUser } from '../../access.js'
import { nowIso } from '../../clock.js'
import type { Application } from '../../declarations.js'
import { SERVER_VERSION } from '../../version.js'
import { userChannel } from '../../channels.js'
import type { ServerStats } from './server-stats.schema.js'

const BACKENDS: Record<string, ServerStats['database']['backend']> = { sqlite: 'sqlite', postgres: 'postgresql', mongodb: 'mongodb' }

/**
 * The operator view (/server-stats): counts of what the database holds and
 * of this instance's realtime connections. The hooks let only operators in
 * (server-stats.ts); nothing here reads record data.
 */
export class ServerStatsService {
  private readonly startedAt = new Date()

  constructor(private readonly app: Application) {}

  async find(params: Params): Promise<ServerStats> {
    requireUser(params)
    const storage = this.app.get('storage')
    const counts = await storage.stats(nowIso(this.app))
    return {
      status: 'ok',
      version: SERVER_VERSION,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.max(0, Math.floor((Date.now() - this.startedAt.getTime()) / 1000)),
      database: { backend: BACKENDS[storage.backend] ?? 'sqlite' },
      counts,
      realtime: this.realtime()
    }
  }

  /** Sockets of this instance; signed in: those in a user's channel (channels.ts joins them on login). */
  private realtime(): ServerStats['realtime'] {
    const io = (this.app as unknown as { io?: Server }).io
    const connections = io?.of('/').sockets.size ?? 0
    const userChannels = this.app.channels.filter((name) => name.startsWith(userChannel('')))
    const authenticated = userChannels.length === 0 ? 0 : this.app.channel(userChannels).length
    return { connections, authenticated }
  }
}
