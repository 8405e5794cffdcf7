import type { StorageTx } from '../../backend.js'
import { batchesTx } from './batches.js'
import { collectionsTx } from './collections.js'
import { encryptionTx } from './encryption.js'
import { invitationsTx } from './invitations.js'
import { keysTx } from './keys.js'
import { locksTx } from './locks.js'
import { membersTx } from './members.js'
import { recordsTx } from './records.js'
import type { TxContext } from './step.js'
import { usersTx } from './users.js'

/** The StorageTx of one MongoDB transaction: every method runs its driver calls in `context.session`. */
export const mongoTx = (context: TxContext): StorageTx => ({
  ...collectionsTx(context),
  ...usersTx(context),
  ...recordsTx(context),
  ...keysTx(context),
  ...locksTx(context),
  ...membersTx(context),
  ...invitationsTx(context),
  ...encryptionTx(context),
  ...batchesTx(context)
})
