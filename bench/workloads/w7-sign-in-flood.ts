import { randomBytes } from 'node:crypto'
import { HttpClient, JsonText } from '../lib/http.js'
import { median, now, percentile, sleep } from '../lib/stats.js'
import type { RoostTarget, Target } from '../targets/types.js'
import type { RunResult, Settings, Workload } from './types.js'

/** The other user reads every this many milliseconds (sequentially: a slow answer delays the next read). */
const READ_EVERY_MS = 10
/** Sign-ins of each kind timed one by one for the known-versus-unknown address comparison. */
const TIMED_SIGN_INS = 20

interface State {
  /** Anonymous connections for the flood and the timed sign-ins; the reader uses the target's own (signed in). */
  anonymous: HttpClient
  /** Client addresses handed out so far: every run, and in the hashing phase every attempt, comes from a fresh one. */
  ips: number
}

/**
 * The server is started with `trustProxy` (bench/targets/roost.ts), so the
 * load generator can say which client IP each request comes from
 * (X-Forwarded-For), as a proxy in front of Roost would.
 */
const fromIp = (state: State) => {
  const n = ++state.ips
  // 198.18.0.0/15, the range set aside for benchmarks (RFC 2544): only ever a header value here.
  return { 'x-forwarded-for': `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}` }
}

const newAddress = () => `flood-${randomBytes(6).toString('hex')}@example.com`

async function signUp(state: State): Promise<{ email: string; password: string }> {
  const account = { email: newAddress(), password: randomBytes(12).toString('hex') }
  await state.anonymous.json('POST', '/users', account, fromIp(state))
  return account
}

/** Another user's `GET /collections`, every READ_EVERY_MS, until `until` resolves. */
async function read(target: RoostTarget, until: Promise<unknown>): Promise<number[]> {
  let done = false
  void until.then(() => (done = true))
  const latencies: number[] = []
  for (let next = now(); !done; next += READ_EVERY_MS) {
    await sleep(next - now())
    const sent = now()
    await target.http.json('GET', '/collections')
    latencies.push(now() - sent)
  }
  return latencies
}

/**
 * `clients` loops of wrong-password sign-ins for `seconds`; `attempt` says
 * who each comes from and which address it tries. Counts the answers by status.
 */
async function flood(
  state: State,
  clients: number,
  seconds: number,
  attempt: (client: number) => { body: JsonText; headers: Record<string, string> }
): Promise<{ statuses: Map<number, number>; elapsedMs: number }> {
  const statuses = new Map<number, number>()
  const start = now()
  const end = start + seconds * 1000
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (now() < end) {
        const { body, headers } = attempt(client)
        const { status } = await state.anonymous.request('POST', '/authentication', body, headers)
        if (status !== 401 && status !== 429) throw new Error(`a wrong sign-in answered ${status}`)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    })
  )
  return { statuses, elapsedMs: now() - start }
}

/** Reads while a flood runs: the reader's latencies and the flood's answers. */
async function readDuring(target: RoostTarget, attack: Promise<{ statuses: Map<number, number>; elapsedMs: number }>) {
  const [latencies, answered] = await Promise.all([read(target, attack), attack])
  return { latencies, ...answered }
}

/** Median time of one sign-in with a wrong password for an existing address, and for an address with no account. */
async function timeSignIns(state: State): Promise<{ knownMs: number; unknownMs: number }> {
  const { email } = await signUp(state)
  const known: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < TIMED_SIGN_INS; i++) {
    for (const [address, into] of [[email, known], [newAddress(), unknown]] as const) {
      const sent = now()
      const { status } = await state.anonymous.request('POST', '/authentication', { strategy: 'local', email: address, password: 'wrong password' }, fromIp(state))
      if (status !== 401) throw new Error(`a wrong sign-in answered ${status}`)
      into.push(now() - sent)
    }
  }
  return { knownMs: median(known), unknownMs: median(unknown) }
}

const sum = (statuses: Map<number, number>) => [...statuses.values()].reduce((total, count) => total + count, 0)

export const w7SignInFlood: Workload<State> = {
  id: 'W7',
  title: 'Sign-in flood',
  description: (settings: Settings) =>
    `Another user's \`GET /collections\` (one every ${READ_EVERY_MS} ms) while ${settings.clients} clients send wrong-password sign-ins as fast as they are answered, ` +
    `in two phases of ${settings.seconds} s on a server with the shipped settings (argon2id at 19 MiB × 2 passes, rate limits as in config/default.json). ` +
    '**Hashing**: every attempt comes from a fresh client IP (X-Forwarded-For behind `trustProxy`) for an address with no account, so no limit is ever reached and every attempt costs a full password verification: this measures hashing, not the limiter. ' +
    '**Limits as configured**: each client keeps one IP and guesses one account\'s password, so after `rateLimits.signIn.failuresPerAddressAndIp` failures (and then `failuresPerAddress`) it gets 429 without hashing. ' +
    `Also: the read p99 with no flood, and the median time of ${TIMED_SIGN_INS} wrong-password sign-ins for an existing address versus an unknown one (the same work, by design). ` +
    'Roost only: the other targets have no sign-in.',
  metrics: [
    { key: 'p99Ms', label: 'read p99 (flood: hashing)', unit: 'ms', better: 'lower' },
    { key: 'p50Ms', label: 'read p50 (flood: hashing)', unit: 'ms', better: 'lower' },
    { key: 'signInsPerSecond', label: 'sign-ins answered (hashing)', unit: '/s', better: 'higher' },
    { key: 'limitedP99Ms', label: 'read p99 (flood: limits as configured)', unit: 'ms', better: 'lower' },
    { key: 'limitedPercent', label: '429 share (limits as configured)', unit: '%', better: 'higher' },
    { key: 'limitedSignInsPerSecond', label: 'sign-ins answered (limits as configured)', unit: '/s', better: 'higher' },
    { key: 'idleP99Ms', label: 'read p99 (no flood)', unit: 'ms', better: 'lower' },
    { key: 'knownAddressMs', label: 'wrong password, existing address', unit: 'ms', better: 'lower' },
    { key: 'unknownAddressMs', label: 'wrong password, unknown address', unit: 'ms', better: 'lower' }
  ],
  unsupported: (target: Target) => (target.kind === 'roost' ? undefined : 'no sign-in'),
  async prepare(target) {
    const state: State = { anonymous: new HttpClient((target as RoostTarget).url), ips: 0 }
    await timeSignIns(state) // warm-up (and the dummy hash made), not measured
    return state
  },
  async run(target, state, settings): Promise<RunResult> {
    const roost = target as RoostTarget
    const idle = await read(roost, sleep(Math.min(2, settings.seconds / 4) * 1000))

    const hashing = await readDuring(
      roost,
      flood(state, settings.clients, settings.seconds, () => ({
        body: JsonText.of({ strategy: 'local', email: newAddress(), password: 'wrong password' }),
        headers: fromIp(state)
      }))
    )
    if (hashing.statuses.has(429)) throw new Error('the hashing phase reached a rate limit: it would not measure hashing')

    const victim = await signUp(state)
    const ips = Array.from({ length: settings.clients }, () => fromIp(state))
    const guess = JsonText.of({ strategy: 'local', email: victim.email, password: 'wrong password' })
    const limited = await readDuring(roost, flood(state, settings.clients, settings.seconds, (client) => ({ body: guess, headers: ips[client] })))

    const { knownMs, unknownMs } = await timeSignIns(state)
    const attempts = sum(hashing.statuses)
    return {
      operations: attempts + sum(limited.statuses),
      values: {
        p99Ms: percentile(hashing.latencies, 99),
        p50Ms: percentile(hashing.latencies, 50),
        signInsPerSecond: attempts / (hashing.elapsedMs / 1000),
        limitedP99Ms: percentile(limited.latencies, 99),
        limitedPercent: (100 * (limited.statuses.get(429) ?? 0)) / sum(limited.statuses),
        limitedSignInsPerSecond: sum(limited.statuses) / (limited.elapsedMs / 1000),
        idleP99Ms: percentile(idle, 99),
        knownAddressMs: knownMs,
        unknownAddressMs: unknownMs
      }
    }
  },
  async finish(state) {
    state.anonymous.close()
  }
}
