import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { HookContext } from '../src/declarations.js'
import { claimAndRun } from '../src/idempotency-claims.js'
import { describeOn, sqlite } from './helpers/backends.js'
import { startServer, type TestServer } from './helpers/server.js'

/**
 * The lease of a running call's claim is renewed while it runs: a call slower
 * than `idempotency.leaseSeconds` is not taken over by a duplicate (which
 * would run it a second time); the duplicate waits and replays its answer.
 * The calls here are stand-ins of a known length, on a real server's storage.
 */
describeOn(sqlite, 'idempotency claims: lease renewal', () => {
  let server: TestServer
  let userId: string

  beforeAll(async () => {
    server = await startServer(sqlite, { idempotency: { leaseSeconds: 1, waitSeconds: 5 } })
    userId = (await server.storage.createUser({ email: 'slow@example.com', password: 'x' }, new Date().toISOString())).id
  })
  afterAll(async () => {
    await server?.close()
  })

  it('a call slower than its lease keeps its key: the duplicate that comes after the lease waits for its answer', async () => {
    const scope = { userId, key: 'slow-1', fingerprint: 's'.repeat(64), expiresAt: new Date(Date.now() + 60_000).toISOString() }
    const runs: string[] = []
    const replays: string[] = []
    /** One attempt of the call: a hook context of its own, and a call that takes `ms`. */
    const attempt = async (name: string, ms: number) => {
      const context = { app: server.app } as HookContext
      await claimAndRun(
        context,
        async () => {
          runs.push(name)
          await sleep(ms)
          context.result = { made: name }
        },
        scope,
        () => replays.push(name)
      )
      return context.result
    }

    const first = attempt('first', 1600)
    await sleep(1200) // past the first lease of 1 s: only renewals keep the key
    const second = attempt('second', 0)
    expect(await Promise.all([first, second])).toEqual([{ made: 'first' }, { made: 'first' }])
    expect(runs).toEqual(['first'])
    expect(replays).toEqual(['second'])
  })
})
