import type { StorageTx, Tx } from '../backend.js'
import type { RecordWrite, StoredRecord } from '../types.js'

/** Small helpers the write rules share. */

/** The current records (and tombstones) of the writes, by recordKey(). */
export function* readCurrent(tx: StorageTx, byCollection: Map<string, RecordWrite[]>): Tx<Map<string, StoredRecord>> {
  const current = new Map<string, StoredRecord>()
  for (const [collectionId, group] of byCollection) {
    const found = yield* tx.getRecords(
      collectionId,
      group.map((write) => write.id)
    )
    for (const record of found) current.set(recordKey(collectionId, record.id), record)
  }
  return current
}

export const recordKey = (collectionId: string, id: string): string => `${collectionId}\u0000${id}`

export function groupByCollection(writes: RecordWrite[]): Map<string, RecordWrite[]> {
  const byCollection = new Map<string, RecordWrite[]>()
  for (const write of writes) {
    const group = byCollection.get(write.collectionId)
    if (group === undefined) byCollection.set(write.collectionId, [write])
    else group.push(write)
  }
  return byCollection
}
