import { createHash } from 'node:crypto'
import { BadRequest } from '@feathersjs/errors'
import { isoAfter } from './clock.js'
import type { HookContext, NextFunction } from './declarations.js'
import { claimAndRun } from './idempotency-claims.js'
import type { IdempotencyScope } from './storage/types.js'

/**
 * Idempotent retries. A client attaches a key to a mutating call — the
 * `Idempotency-Key` header over REST, `$idempotencyKey` in the query over
 * socket.io — and a retry with the same key and the same request gets the
 * first answer without anything being applied again; the same key with a
 * different request is refused (422). Keys are per user and kept for
 * `idempotency.ttlSeconds`.
 *
 * Record writes store the key in the same transaction as the write (see
 * RecordService), so a crash can never apply a write and lose its key. Other
 * calls use `idempotent()`, which claims the key in the database before the
 * call and stores the answer after it (./idempotency-claims.ts).
 */
export const IDEMPOTENCY_HEADER = 'idempotency-key'
export const IDEMPOTENCY_QUERY = '$idempotencyKey'
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/
const READS = new Set(['find', 'get'])

declare module '@feathersjs/feathers' {
  interface Params {
    /** The client's idempotency key for this call. */
    idempotencyKey?: string
    /** Set by the service when the answer was replayed from an earlier call. */
    idempotentReplay?: boolean
  }
}

/** Before any validation (app.ts): takes the key out of the header or the query. */
export function takeIdempotencyKey(context: HookContext): void {
  const { query = {}, headers = {} } = context.params
  const { [IDEMPOTENCY_QUERY]: fromQuery, ...rest } = query as Record<string, unknown>
  // Only REST headers are per call: socket.io's are the handshake's, shared by every call of the connection.
  const fromHeader = context.params.provider === 'rest' ? (headers[IDEMPOTENCY_HEADER] as string | undefined) : undefined
  const key = fromHeader ?? fromQuery
  if (key !== undefined) {
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new BadRequest('An idempotency key is 1–255 printable ASCII characters')
    }
    context.params = { ...context.params, query: rest, idempotencyKey: key }
  }
}

/** Canonical JSON: keys sorted, so the same request always hashes the same. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : typeof value === 'object' && value !== null
      ? `{${Object.keys(value)
          .sort()
          .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
          .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
          .join(',')}}`
      : JSON.stringify(value) ?? 'null'

/** What a retry must repeat exactly: the call, its target, its body and its query. */
export function fingerprint(context: HookContext): string {
  const { method, path, id, data } = context
  const { route = {}, query = {}, baseVersion = null } = context.params
  const request = { method, path, route, id: id ?? null, data: data ?? null, query, baseVersion }
  return createHash('sha256').update(canonical(request)).digest('hex')
}

/** The key's scope for this call, if the caller sent one on a mutating call. */
export function idempotencyScope(context: HookContext): IdempotencyScope | undefined {
  const { idempotencyKey: key, user } = context.params
  // Every call but the reads: create/update/patch/remove and custom methods (commit…).
  if (key === undefined || user === undefined || READS.has(context.method)) return undefined
  return {
    userId: user.id,
    key,
    fingerprint: fingerprint(context),
    expiresAt: isoAfter(context.app, context.app.get('idempotency').ttlSeconds)
  }
}

/** Marks a replayed answer: no event again, and `Idempotent-Replayed: true` over REST. */
export function markReplay(context: HookContext): void {
  context.event = null
  if (context.http) context.http.headers = { ...context.http.headers, 'Idempotent-Replayed': 'true' }
}

/**
 * For record writes, whose key is stored by storage in the write's own
 * transaction: hands the scope to the service, and marks replays.
 */
export const atomicIdempotency = () => async (context: HookContext, next: NextFunction) => {
  const scope = idempotencyScope(context)
  context.params = { ...context.params, idempotency: scope }
  const run = async () => {
    await next()
    if (context.params.idempotentReplay) markReplay(context)
  }
  // Duplicates on one collection already queue on its transaction; requests
  // with one key on different collections would race to insert it (a 409, not a 422).
  await (scope === undefined ? run() : oneAtATime(context, scope, run))
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** Set by atomicIdempotency() for the service to pass to storage. */
    idempotency?: IdempotencyScope
  }
}

/**
 * For calls whose effect is not stored with the key atomically: replay a
 * stored answer, or run the call and store its answer, under a claim on the
 * key in the database (claimAndRun), so duplicates at different instances
 * run once. Failed calls are not stored: retrying them runs them again.
 */
export const idempotent = () => async (context: HookContext, next: NextFunction) => {
  const scope = idempotencyScope(context)
  if (scope === undefined) return next()
  // Duplicates in this process queue here rather than poll the database; the claim is what makes it correct.
  await oneAtATime(context, scope, () => claimAndRun(context, next, scope, markReplay))
}

/**
 * Calls of one user with one key run one at a time (in this process): a
 * concurrent duplicate waits for the first call to finish, then finds its
 * stored answer instead of running a second time beside it.
 */
const running = new WeakMap<object, Map<string, Promise<void>>>()

async function oneAtATime<T>(context: HookContext, scope: IdempotencyScope, work: () => Promise<T>): Promise<T> {
  let chains = running.get(context.app)
  if (chains === undefined) running.set(context.app, (chains = new Map()))
  const id = `${scope.userId}\u0000${scope.key}`
  const result = (chains.get(id) ?? Promise.resolve()).then(work)
  const done = result.then(
    () => undefined,
    () => undefined
  )
  chains.set(id, done)
  try {
    return await result
  } finally {
    if (chains.get(id) === done) chains.delete(id)
  }
}
