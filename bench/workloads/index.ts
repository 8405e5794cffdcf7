import { w1Writes } from './w1-writes.js'
import { w1eEncryptedWrites } from './w1e-encrypted-writes.js'
import { w1sSharedWrites } from './w1s-shared-writes.js'
import { w2Bulk } from './w2-bulk.js'
import { w3Feed } from './w3-feed.js'
import { w3bFeedAfterLoad } from './w3b-feed-after-load.js'
import { w4Fanout } from './w4-fanout.js'
import { w4kCrowdFanout } from './w4k-crowd-fanout.js'
import { w5Batch } from './w5-batch.js'
import { w6InitialSync } from './w6-initial-sync.js'
import { w6eEncryptedSync } from './w6e-encrypted-sync.js'
import { w7SignInFlood } from './w7-sign-in-flood.js'
import { w8OfflinePush } from './w8-offline-push.js'
import type { Workload, WorkloadId } from './types.js'

export * from './types.js'

export const WORKLOADS: Record<WorkloadId, Workload<any>> = {
  W1: w1Writes,
  W1s: w1sSharedWrites,
  W1e: w1eEncryptedWrites,
  W2: w2Bulk,
  W3: w3Feed,
  W3b: w3bFeedAfterLoad,
  W4: w4Fanout,
  W4k: w4kCrowdFanout,
  W5: w5Batch,
  W6: w6InitialSync,
  W6e: w6eEncryptedSync,
  W7: w7SignInFlood,
  W8: w8OfflinePush
}
