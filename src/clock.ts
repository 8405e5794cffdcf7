import type { Application } from './declarations.js'

/**
 * Where the server gets "now" from, so that tests can move time for
 * anything with a time-to-live (batches, idempotency keys) instead of waiting.
 */
export type Clock = () => Date

export const systemClock: Clock = () => new Date()

export const now = (app: Application): Date => app.get('clock')()
export const nowIso = (app: Application): string => now(app).toISOString()
export const isoAfter = (app: Application, seconds: number): string => new Date(now(app).getTime() + seconds * 1000).toISOString()
