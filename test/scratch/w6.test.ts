import { it, expect } from 'vitest'
import { createRoost, memoryStore, signUp } from '../../src/client/index.js'
import { sqliteStore } from '../../src/client/stores/sqlite.js'

import { startServer } from '../helpers/server.js'
it('w6', async () => {
  const server = await startServer({ name: 'sqlite', async create() { const d = (await import('node:fs')).mkdtempSync('/tmp/w6/d'); return { databaseUrl: '', dataDir: d, async cleanup() {} } } } as never)
  const email = `w6-${Date.now()}@example.com`
  await signUp(server.url, email, 'a long enough password')
  const auth = { email, password: 'a long enough password' }
  const writer = createRoost({ url: server.url, auth, realtime: false })
  const c = writer.collection('w6')
  let t = Date.now()
  for (let i = 0; i < 10000; i++) await c.put(`r${String(i).padStart(6, '0')}`, { title: 'x'.repeat(150), i, done: false })
  console.log('local writes', Date.now() - t); t = Date.now()
  await writer.whenSynced()
  console.log('push 10k', Date.now() - t)
  for (const [name, store] of [['memory', memoryStore()], ['sqlite', sqliteStore(`/tmp/w6/s-${Date.now()}.db`)]] as const) {
    const reader = createRoost({ url: server.url, auth, realtime: false, store })
    reader.collection('w6')
    t = Date.now()
    await reader.whenSynced()
    console.log(name, 'pull 10k', Date.now() - t)
    expect((await reader.collection('w6').list()).length).toBe(10000)
    await reader.close()
  }
  await writer.close()
  await server.close()
}, 120000)
