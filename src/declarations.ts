import type { HookContext as FeathersHookContext, NextFunction } from '@feathersjs/feathers'
import type { Application as FeathersApplication } from '@feathersjs/koa'
import type { LimiterStore } from './auth/limiter-store.js'
import type { Clock } from './clock.js'
import type { RoostConfiguration } from './configuration.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics/registry.js'
import type { Sync } from './realtime/sync.js'
import type { Storage, StoredUser } from './storage/types.js'
import type { Sweeper } from './sweeper.js'

export type { NextFunction }

/** Settings on the app: the checked configuration plus the things built from it at start. */
export interface Configuration extends RoostConfiguration {
  storage: Storage
  logger: Logger
  clock: Clock
  sweeper: Sweeper
  /** The app's own Prometheus registry and its metrics (src/metrics/). */
  metricsRegistry: Metrics
  /** Set when `sync.url` is: the bus to the other instances (src/realtime/sync.ts). */
  syncBus?: Sync
  /** Where the rate-limit counters live: memory, or Redis shared by the instances (src/auth/limiter-store.ts). */
  limiters: LimiterStore
}

// Each service file adds its own entry (see src/services/*/…).
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ServiceTypes {}

export type Application = FeathersApplication<ServiceTypes, Configuration>

export type HookContext<S = any> = FeathersHookContext<Application, S>

/** The signed-in user as services see it: never the password hash. */
export type AuthenticatedUser = Pick<StoredUser, 'id' | 'email' | 'createdAt'>

declare module '@feathersjs/feathers' {
  interface Params {
    /** The signed-in user, set by authentication. */
    user?: AuthenticatedUser
  }
}
