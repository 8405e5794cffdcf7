import { describeOn, plain, mongodb } from '../helpers/backends.js'
import { storageOn } from '../helpers/storage.js'
import { registerStorageTests } from './suite/index.js'

// The storage conformance suite on MongoDB (skipped with one printed line without a server: test/helpers/mongodb.ts),
// with the speed-ups ("[mongodb]") and on the plain path ("[mongodb, no shortcuts]").
for (const backend of [mongodb, plain(mongodb)]) {
  describeOn(backend, 'storage', () => registerStorageTests('conformance', storageOn(backend), { backend: 'mongodb', shortcuts: backend.shortcuts !== false }))
}
