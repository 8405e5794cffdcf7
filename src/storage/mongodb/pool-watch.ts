import type { ConnectionPoolMonitoringEvent, MongoClient } from 'mongodb'
import type { PoolStats } from '../types.js'

/** One server's pool, counted from its events. */
interface ServerPool {
  open: number
  used: number
  pending: number
}

/**
 * The driver's connection pools as PoolStats, counted from the pool events
 * (CMAP) the MongoClient emits: the driver has no public call that answers
 * how many connections are checked out. The driver keeps one pool per
 * server; the counts are summed over them, and `max` is `maxPoolSize` times
 * the number of pools (0: maxPoolSize 0, no limit).
 *
 * Best effort: counted, not read, so an event the driver skipped would skew
 * a count until that server's pool is closed (each count is kept at 0 or
 * more). Type-checked; no MongoDB server runs in this project's tests.
 */
export class PoolWatch {
  private readonly pools = new Map<string, ServerPool>()

  constructor(private readonly client: MongoClient) {
    const on = (event: Parameters<MongoClient['on']>[0], change: (pool: ServerPool) => void) =>
      client.on(event, (happened: ConnectionPoolMonitoringEvent) => change(this.poolOf(happened.address)))
    on('connectionCreated', (pool) => pool.open++)
    on('connectionClosed', (pool) => (pool.open = Math.max(0, pool.open - 1)))
    on('connectionCheckOutStarted', (pool) => pool.pending++)
    on('connectionCheckOutFailed', (pool) => (pool.pending = Math.max(0, pool.pending - 1)))
    on('connectionCheckedOut', (pool) => {
      pool.pending = Math.max(0, pool.pending - 1)
      pool.used++
    })
    on('connectionCheckedIn', (pool) => (pool.used = Math.max(0, pool.used - 1)))
    client.on('connectionPoolClosed', (happened) => this.pools.delete(happened.address))
  }

  stats(): PoolStats {
    let used = 0
    let free = 0
    let pending = 0
    for (const pool of this.pools.values()) {
      used += pool.used
      free += Math.max(0, pool.open - pool.used)
      pending += pool.pending
    }
    return { used, free, pending, max: this.client.options.maxPoolSize * Math.max(1, this.pools.size) }
  }

  private poolOf(address: string): ServerPool {
    let pool = this.pools.get(address)
    if (pool === undefined) this.pools.set(address, (pool = { open: 0, used: 0, pending: 0 }))
    return pool
  }
}
