/**
 * A client in a process of its own, for the tests that kill it (SIGKILL):
 * syncs two collections on a SQLite store file, writes one group (a
 * transaction) of N records in each, prints the write ids as one JSON line
 * and keeps syncing until it is killed.
 * Run as `node --import tsx test/client/reliability/group-writer.ts` with
 * ROOST_URL, EMAIL, PASSWORD, STORE_FILE, COLLECTION_A, COLLECTION_B, PER_COLLECTION.
 */
import { createRoost } from '../../../src/client/index.js'
import { sqliteStore } from '../../../src/client/stores/sqlite.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is not set`)
  return value
}

const roost = createRoost({
  url: env('ROOST_URL'),
  auth: { email: env('EMAIL'), password: env('PASSWORD') },
  store: sqliteStore(env('STORE_FILE')),
  realtime: false,
  retry: { baseMs: 50, maxMs: 200 }
})
const [a, b] = [env('COLLECTION_A'), env('COLLECTION_B')]
roost.collection(a)
roost.collection(b)
await roost.whenSynced()
const ids = Array.from({ length: Number(env('PER_COLLECTION')) }, (_, i) => `r${i}`)
const { writes } = await roost.transaction((scope) => {
  for (const id of ids) {
    scope.put(a, id, { collection: 'a', id })
    scope.put(b, id, { collection: 'b', id })
  }
})
process.stdout.write(`${JSON.stringify({ writeIds: writes.map((write) => write.writeId) })}\n`)
// Keeps syncing (and retrying) until killed.
setInterval(() => undefined, 60_000)
