import { describeOn, plain, postgres } from '../helpers/backends.js'
import { storageOn } from '../helpers/storage.js'
import { registerStorageTests } from './suite/index.js'

// The storage conformance suite on PostgreSQL (skipped with a printed reason when unreachable, failed under CI=true),
// with the speed-ups ("[postgres]") and on the plain path ("[postgres, no shortcuts]").
for (const backend of [postgres, plain(postgres)]) {
  describeOn(backend, 'storage', () => registerStorageTests('conformance', storageOn(backend), { backend: 'postgres', shortcuts: backend.shortcuts !== false }))
}
