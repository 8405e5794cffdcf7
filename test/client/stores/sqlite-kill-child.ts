import { sqliteStore } from '../../../src/client/stores/sqlite.js'

/**
 * Run by stores.test.ts as `node --import tsx sqlite-kill-child.ts <file>`:
 * writes a record and its outbox entry in one write, then kills its own
 * process with SIGKILL at once (no close, no exit handlers, no checkpoint),
 * as an app killed right after a local write would be.
 */
const path = process.argv[2]
if (path === undefined) throw new Error('usage: sqlite-kill-child.ts <file>')
const store = sqliteStore(path)
await store.write([
  {
    type: 'putRecord',
    record: { collectionId: 'notes', id: 'n1', data: { text: 'written before the kill', list: [1, 'two', null] }, deleted: false, version: 1, syncedVersion: 0, base: null, pendingSince: '2026-01-01T00:00:00.000Z' }
  },
  {
    type: 'putOutbox',
    entry: { id: 'write-1', order: 1, collectionId: 'notes', recordId: 'n1', op: 'put', data: { text: 'written before the kill', list: [1, 'two', null] }, localVersion: 1, createdAt: '2026-01-01T00:00:00.000Z', state: 'pending' }
  }
])
process.kill(process.pid, 'SIGKILL')
