import type { Application } from '../declarations.js'
import { batches } from './batches/batches.js'
import { changes } from './changes/changes.js'
import { locks } from './locks/locks.js'
import { collections } from './collections/collections.js'
import { records } from './records/records.js'
import { subscriptions } from './subscriptions/subscriptions.js'
import { users } from './users/users.js'
import { members } from './members/members.js'
import { invitations } from './invitations/invitations.js'
import { userKeys } from './user-keys/user-keys.js'
import { keyEpochs } from './key-epochs/key-epochs.js'
import { collectionKeys } from './collection-keys/collection-keys.js'
import { collectionBatches } from './collection-batches/collection-batches.js'
import { serverStats } from './server-stats/server-stats.js'
import { exportData } from './export/export.js'

export const services = (app: Application) => {
  app.configure(users)
  app.configure(collections)
  app.configure(records)
  app.configure(changes)
  app.configure(subscriptions)
  app.configure(batches)
  app.configure(locks)
  app.configure(members)
  app.configure(invitations)
  app.configure(userKeys)
  app.configure(keyEpochs)
  app.configure(collectionKeys)
  app.configure(collectionBatches)
  app.configure(exportData)
  app.configure(serverStats)
}
