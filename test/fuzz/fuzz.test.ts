import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { signedIn } from '../helpers/clients.js'
import { startServer } from '../helpers/server.js'
import { fuzzCall, toJsonText, type FuzzCall } from './arbitraries.js'
import { ISSUE_EXAMPLES } from './examples.js'
import { healthy, restoreFixture, snapshot, viaRest, viaSocket, type Answer, type Fixture } from './harness.js'
import { rawSocket, type RawSocket } from './raw-socket.js'

/**
 * The fuzz suite (issue 12): hostile calls to every service over REST and
 * socket.io — wrong types, huge and deep values, prototype names as keys and
 * ids, unicode edge cases, query operators in odd places. For each call:
 * never a 5xx (nor an error without a code over socket.io), an answer within
 * ANSWER_BOUND_MS, nothing changed if it was refused, and the server still
 * answers afterwards. The issue's findings run first, as fixed examples.
 *
 * `npm test` runs a bounded, seeded run (a few seconds per backend);
 * `npm run fuzz` (scripts/fuzz.ts) runs it longer, with FUZZ_SEED and
 * FUZZ_RUNS taken from the environment.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261202)
const RUNS = Number(process.env.FUZZ_RUNS ?? 120)
/** FUZZ_STATS=1 prints how often each service method answered each status, to see what the run reached. */
const STATS = process.env.FUZZ_STATS === '1'
/** FUZZ_SKIP_EXAMPLES=<regex>: leave out the fixed examples whose names match (a known open failure), to see what else a run finds. */
const SKIP = process.env.FUZZ_SKIP_EXAMPLES ? new RegExp(process.env.FUZZ_SKIP_EXAMPLES) : undefined
const EXAMPLES = ISSUE_EXAMPLES.filter(({ name }) => SKIP === undefined || !SKIP.test(name))

const describeCall = (call: FuzzCall) =>
  JSON.stringify({ ...call, id: call.id === undefined ? undefined : toJsonText(call.id).slice(0, 200), data: call.data === undefined ? undefined : toJsonText(call.data).slice(0, 300), query: call.query === undefined ? undefined : toJsonText(call.query).slice(0, 200) })

describeBackends('fuzz', (backend) => {
  const fixture = {} as Fixture
  let socket: RawSocket
  const tally = new Map<string, number>()

  beforeAll(async () => {
    fixture.server = await startServer(backend, {
      // A lock held by the fuzzer's own holder would make other holders wait this long.
      locks: { maxWaitSeconds: 1 },
      quotas: { collectionsPerUser: 100_000, pendingInvitationsPerCollection: 100_000 }
    })
    fixture.owner = await signedIn(fixture.server.url, 'rest')
    fixture.token = (await fixture.owner.client.authentication.getAccessToken()) ?? ''
    fixture.collectionId = 'fuzz-fixture'
    await restoreFixture(fixture)
    await recordsClient(fixture.owner.client, fixture.collectionId).create({ id: 'r2', data: 'two' })
    socket = await rawSocket(fixture.server.url, fixture.token)
  })
  afterAll(async () => {
    if (STATS) console.log(`fuzz [${backend.name}] answers:\n${[...tally].sort().map(([key, count]) => `${String(count).padStart(6)}  ${key}`).join('\n')}`)
    socket?.close()
    fixture.owner?.close()
    await fixture.server?.close()
  })

  /** Sends one call and checks everything the suite promises about it. */
  async function check(call: FuzzCall, send: (call: FuzzCall) => Promise<Answer>): Promise<void> {
    const before = await snapshot(fixture)
    const answer = await send(call)
    if (STATS) tally.set(`${call.path} ${call.method} ${answer.status}`, (tally.get(`${call.path} ${call.method} ${answer.status}`) ?? 0) + 1)
    const what = `${describeCall(call)} → ${answer.status} ${answer.message.slice(0, 200)}`
    expect(answer.status, `never a 5xx: ${what}`).toBeLessThan(500)
    if (answer.status >= 400) expect(await snapshot(fixture), `a refused call changes nothing: ${what}`).toEqual(before)
    await restoreFixture(fixture)
    expect(await healthy(fixture), `the server still answers after: ${what}`).toBe(true)
  }

  const transports: Array<{ name: string; send: (call: FuzzCall) => Promise<Answer> }> = [
    { name: 'rest', send: (call) => viaRest(fixture, call) },
    {
      name: 'socketio',
      send: async (call) => {
        const answer = await viaSocket(fixture, socket, call)
        // Signing in or out changes who the connection is: make it the fixture user again.
        if (call.path === 'authentication' || !socket.socket.connected) {
          socket.close()
          socket = await rawSocket(fixture.server.url, fixture.token)
        }
        return answer
      }
    }
  ]

  for (const { name, send } of transports) {
    describe(`over ${name}`, () => {
      it.each(EXAMPLES.map(({ name: example, call }) => [example, call] as const))('issue 12 example: %s', async (_example, call) => {
        await check(call, send)
      })

      it(`${RUNS} generated calls (seed ${SEED})`, async () => {
        await fc.assert(
          fc.asyncProperty(fuzzCall, async (call) => {
            await check(call, send)
          }),
          // Examples count towards numRuns: without adding them, a short run would skip some.
          { seed: SEED, numRuns: EXAMPLES.length + RUNS, endOnFailure: true, examples: EXAMPLES.map(({ call }) => [call]) }
        )
      }, Math.max(600_000, RUNS * 500))
    })
  }
})
