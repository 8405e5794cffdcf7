import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { PoolStats, ReplicaReadCounts } from '../storage/types.js'

/**
 * The app's Prometheus metrics, on a registry of its own (not prom-client's
 * global one): several apps in one process (the tests) each count their
 * own. Labels are only route patterns, method names and status codes:
 * never an id, an address or anything a user wrote.
 */
export interface Metrics {
  registry: Registry
  /** Every service call from a client (REST or socket.io), by route pattern, method and status. */
  requests: Counter<'service' | 'method' | 'status'>
  requestDuration: Histogram<'service' | 'method'>
  /** Open socket.io connections. */
  realtimeConnections: Gauge
  /** Record changes committed (each announced once; idempotent replays are not new changes). */
  changesWritten: Counter
  /** Calls answered 409 Conflict (versions, locks, batch preconditions). */
  conflicts: Counter<'service' | 'method'>
  /** Batch commits that succeeded. */
  batchCommits: Counter
  /** Lock acquires that waited for another holder (`waitSeconds`), by how the wait ended. */
  lockWaits: Counter<'outcome'>
  lockWaitDuration: Histogram<'outcome'>
}

/** How a lock acquire that waited ended: granted, still held by someone else at its deadline, or refused otherwise (the collection deleted, the database away). */
export type LockWaitOutcome = 'acquired' | 'timed_out' | 'failed'

/**
 * What the gauges read when scraped, not counted as it happens: nothing to
 * keep in step, so nothing to drift (a connection that leaves its channels
 * by any path is simply no longer there).
 */
export interface ScrapedState {
  /** Connections in a collection's channel, summed over collections: (connection, collection) pairs. */
  subscriptions(): number
  pool(): PoolStats
  /** How the reads offered to the read replica were served; undefined without one. */
  replicaReads(): ReplicaReadCounts | undefined
}

/**
 * `processMetrics`: also prom-client's process and Node.js metrics. They
 * watch the event loop and garbage collection from the moment they are set
 * up (and are never taken down), so only when /metrics is served.
 */
export function createMetrics(options: { processMetrics: boolean; state: ScrapedState }): Metrics {
  const registry = new Registry()
  if (options.processMetrics) collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const { state } = options
  new Gauge({
    name: 'roost_realtime_subscriptions',
    help: 'Collections followed by open socket.io connections: one per connection and collection subscribed to',
    registers,
    collect() {
      this.set(state.subscriptions())
    }
  })
  new Gauge({
    name: 'roost_db_pool_connections',
    help: 'Database connections of this process: used (running a call), free (open, idle), pending (calls waiting for one)',
    labelNames: ['state'],
    registers,
    collect() {
      const { used, free, pending } = state.pool()
      this.set({ state: 'used' }, used)
      this.set({ state: 'free' }, free)
      this.set({ state: 'pending' }, pending)
    }
  })
  new Gauge({
    name: 'roost_db_pool_max_connections',
    help: 'The most database connections the pool opens',
    registers,
    collect() {
      this.set(state.pool().max)
    }
  })
  new Counter({
    name: 'roost_replica_reads_total',
    help: 'Feed pulls and record reads offered to the read replica, by who served them: replica, primary_behind (the replica lagged past readReplica.maxWaitMilliseconds), primary_failing (it failed, or did lately)',
    labelNames: ['served'],
    registers,
    collect() {
      // Kept by the storage; copied here when scraped. No samples without a replica.
      const counts = state.replicaReads()
      this.reset()
      if (counts === undefined) return
      this.inc({ served: 'replica' }, counts.replica)
      this.inc({ served: 'primary_behind' }, counts.primaryBehind)
      this.inc({ served: 'primary_failing' }, counts.primaryFailing)
    }
  })
  return {
    registry,
    requests: new Counter({
      name: 'roost_requests_total',
      help: 'Service calls from clients, by service (route pattern), method and status',
      labelNames: ['service', 'method', 'status'],
      registers
    }),
    requestDuration: new Histogram({
      name: 'roost_request_duration_seconds',
      help: 'Time to answer a service call, by service (route pattern) and method',
      labelNames: ['service', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    realtimeConnections: new Gauge({ name: 'roost_realtime_connections', help: 'Open socket.io connections', registers }),
    changesWritten: new Counter({ name: 'roost_changes_written_total', help: 'Record changes committed', registers }),
    conflicts: new Counter({
      name: 'roost_conflicts_total',
      help: 'Service calls answered 409 Conflict, by service (route pattern) and method',
      labelNames: ['service', 'method'],
      registers
    }),
    batchCommits: new Counter({ name: 'roost_batch_commits_total', help: 'Batch commits that succeeded', registers }),
    lockWaits: new Counter({
      name: 'roost_lock_waits_total',
      help: 'Lock acquires that waited for another holder, by outcome (acquired, timed_out, failed)',
      labelNames: ['outcome'],
      registers
    }),
    lockWaitDuration: new Histogram({
      name: 'roost_lock_wait_seconds',
      help: 'Time lock acquires spent waiting for another holder, by outcome',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    })
  }
}
