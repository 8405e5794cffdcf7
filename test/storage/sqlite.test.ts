import { describeOn, plain, sqlite } from '../helpers/backends.js'
import { storageOn } from '../helpers/storage.js'
import { registerStorageTests } from './suite/index.js'

// The storage conformance suite on SQLite (a file in a fresh temporary folder per concern),
// with the speed-ups ("[sqlite]") and on the plain path ("[sqlite, no shortcuts]").
for (const backend of [sqlite, plain(sqlite)]) {
  describeOn(backend, 'storage', () => registerStorageTests('conformance', storageOn(backend), { backend: 'sqlite', shortcuts: backend.shortcuts !== false }))
}
