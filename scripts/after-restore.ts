import configuration from '@feathersjs/configuration'
import { feathers } from '@feathersjs/feathers'
import { createStorage } from '../src/storage/index.js'

/**
 * `npm run after-restore`: run once after restoring the configured database
 * from a backup, with every Roost instance stopped, before starting them
 * again (docs/DEPLOY.md, "Backups and restore"). Brings the schema up to date, then gives
 * every collection a new feed epoch, so that clients holding cursors or
 * replicas from after the backup pull again from the beginning instead of
 * silently skipping the changes the restored database numbers again; lock
 * tokens move on past any issued before and leases end. Records stay as
 * restored. Running it twice is harmless (clients only resync once more).
 *
 * Whether an instance still serves cannot be told reliably from the
 * database (other connections may be anything), so the operator is told,
 * not checked: a cursor an instance hands out between the renewal and its
 * stop would be of the old epoch, which is what this script exists to end.
 */
const app = feathers()
app.configure(configuration())
const storage = createStorage(app.get('databaseUrl') as string, app.get('dataDir') as string)
console.log('After a restore: every Roost instance on this database must be stopped while this runs; start them when it has finished.')
try {
  await storage.migrate()
  const { collections, leasesEnded } = await storage.renewAfterRestore()
  console.log(
    `Renewed ${collections} ${collections === 1 ? 'collection' : 'collections'} of the ${storage.backend} database: new feed epochs ` +
      `(clients pull them again from the beginning), lock tokens moved on, ${leasesEnded} ${leasesEnded === 1 ? 'lease' : 'leases'} ended. ` +
      'Roost may be started now.'
  )
} finally {
  await storage.close()
}
