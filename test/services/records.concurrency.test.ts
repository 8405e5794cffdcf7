import { afterAll, beforeAll, expect, it } from 'vitest'
import { recordsClient } from '../../src/client.js'
import { describeBackends } from '../helpers/backends.js'
import { connect, signedIn, type TestClient } from '../helpers/clients.js'
import type { ClientApplication } from '../../src/client.js'
import { startServer, type TestServer } from '../helpers/server.js'

const CLIENTS = 16
const INCREMENTS = 50

describeBackends('records: no lost update under concurrency', (backend) => {
  let server: TestServer
  let owner: TestClient
  let devices: Array<{ client: ClientApplication; close(): void }>

  beforeAll(async () => {
    server = await startServer(backend)
    owner = await signedIn(server.url, 'rest')
    // One user on 16 devices, half over REST and half over socket.io.
    devices = Array.from({ length: CLIENTS }, (_, i) => connect(server.url, i % 2 === 0 ? 'rest' : 'socketio'))
    await Promise.all(
      devices.map(({ client }) => client.authenticate({ strategy: 'local', email: owner.email, password: owner.password }))
    )
  })
  afterAll(async () => {
    devices.forEach((device) => device.close())
    owner.close()
    await server.close()
  })

  it(`${CLIENTS} clients each adding 1 to a shared counter ${INCREMENTS} times end at exactly ${CLIENTS * INCREMENTS}`, async () => {
    const collection = await owner.client.service('collections').create({ id: `counter-${backend.name}` })
    await recordsClient(owner.client, collection.id).create({ id: 'counter', data: { value: 0 } })

    let conflicts = 0
    const increment = async (device: { client: ClientApplication }) => {
      const records = recordsClient(device.client, collection.id)
      for (let i = 0; i < INCREMENTS; i++) {
        let current = await records.get('counter')
        for (;;) {
          try {
            await records.update('counter', { data: { value: (current.data as { value: number }).value + 1 }, version: current.version })
            break
          } catch (error) {
            const { code, data } = error as { code: number; data: { current: typeof current } }
            if (code !== 409) throw error
            conflicts++
            // The 409 carries the record as it is now: that is the re-read.
            current = data.current
          }
        }
      }
    }
    await Promise.all(devices.map(increment))

    const counter = await recordsClient(owner.client, collection.id).get('counter')
    expect(counter.data).toEqual({ value: CLIENTS * INCREMENTS })
    expect(counter.version).toBe(CLIENTS * INCREMENTS + 1)
    // The clients really raced: some writes were refused and retried.
    expect(conflicts).toBeGreaterThan(0)
    // 16 writers on one record: about 15 refused attempts per applied write, each
    // a full transaction. It takes 15 s on SQLite and 35-40 s on PostgreSQL on an
    // idle two-core machine, and more while other test files run beside it; a
    // correctness test, so it gets room rather than a timing bound.
  }, 180_000)
})
