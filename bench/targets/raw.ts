import { onCleanup } from '../lib/children.js'
import { createDatabase, type Backend } from '../lib/databases.js'
import { ownCpuSeconds } from '../lib/proc.js'
import { openRawDb } from './raw-db.js'
import type { RawTarget, TargetName } from './types.js'

/** better-sqlite3 / pg / the mongodb driver used directly from the benchmark process, on a fresh database. */
export async function startRaw(name: TargetName, backend: Backend): Promise<RawTarget> {
  const database = await createDatabase(backend)
  try {
    const db = await openRawDb(database)
    // Registered after the database's cleanup, so it runs before it: close, then drop.
    const unregister = onCleanup(() => db.close())
    return {
      kind: 'raw',
      name,
      backend,
      database,
      pid: process.pid,
      cpuSeconds: async () => ownCpuSeconds(),
      db,
      async stop() {
        unregister()
        await db.close()
        await database.drop()
      }
    }
  } catch (error) {
    await database.drop()
    throw error
  }
}
