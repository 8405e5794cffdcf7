import type { StorageTx } from '../../backend.js'
import { batchesTx } from './batches.js'
import { collectionsTx } from './collections.js'
import { encryptionTx } from './encryption.js'
import { invitationsTx } from './invitations.js'
import { keysTx } from './keys.js'
import { locksTx } from './locks.js'
import { membersTx } from './members.js'
import { recordsTx } from './records.js'
import { usersTx } from './users.js'

/**
 * The transaction interface (backend.ts, StorageTx) on SQLite and
 * PostgreSQL: every method yields SQL statements (../statements.ts) from
 * ../sql/, and the backend's sessions run them in the open transaction. The
 * steps hold no state of their own, so one object serves every transaction.
 */
export const sqlTx: StorageTx = {
  ...collectionsTx,
  ...usersTx,
  ...recordsTx,
  ...keysTx,
  ...locksTx,
  ...membersTx,
  ...invitationsTx,
  ...encryptionTx,
  ...batchesTx
}
