import configuration from '@feathersjs/configuration'
import { feathers } from '@feathersjs/feathers'
import { createStorage } from '../src/storage/index.js'

/** `npm run migrate`: bring the configured database's schema up to date, then exit. */
const app = feathers()
app.configure(configuration())
const storage = createStorage(app.get('databaseUrl') as string, app.get('dataDir') as string)
try {
  await storage.migrate()
  console.log(`Schema of the ${storage.backend} database is up to date`)
} finally {
  await storage.close()
}
