import { it } from 'vitest'
import { createRoost, memoryStore, signUp } from '../../src/client/index.js'
import { startServer } from '../helpers/server.js'
it('w8', async () => {
  const server = await startServer({ name: 'sqlite', async create() { const d = (await import('node:fs')).mkdtempSync('/tmp/w6/d'); return { databaseUrl: '', dataDir: d, async cleanup() {} } } } as never)
  const email = `w8-${Date.now()}@example.com`
  await signUp(server.url, email, 'a long enough password')
  const auth = { email, password: 'a long enough password' }
  let requests = 0
  const counting: typeof fetch = (input, init) => { requests++; return fetch(input, init) }
  const store = memoryStore()
  const first = createRoost({ url: server.url, auth, realtime: false, store })
  first.collection('w8')
  await first.whenSynced()
  await first.close()
  const writer = createRoost({ url: server.url, auth, realtime: false, store, autoStart: false, fetch: counting })
  const c = writer.collection('w8')
  let t = Date.now()
  for (let i = 0; i < 1000; i++) await c.put(`r${String(i).padStart(6, '0')}`, { title: 'x'.repeat(150), i, done: false })
  console.log('local writes', Date.now() - t); t = Date.now()
  void writer.start()
  await writer.whenSynced()
  console.log('push 1k', Date.now() - t, 'requests', requests)
  await writer.close()
  await server.close()
}, 120000)
