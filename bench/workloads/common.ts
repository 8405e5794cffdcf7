import type { Envelope } from '../../src/client/crypto/record-envelope.js'
import type { Payload } from '../lib/payload.js'
import { payload } from '../lib/payload.js'
import type { FeathersTarget, RawTarget, RoostTarget, Target } from '../targets/types.js'

/** A record a client keeps writing, with the version it last saw. */
export interface Slot {
  collectionId: string
  id: string
  version: number
}

/** How a workload's records are laid out in collections. */
export interface SlotLayout {
  /** Groups of records (a client's own records). */
  groups: number
  perGroup: number
  /**
   * Roost and raw: every group in one collection (writers share its position
   * counter) rather than a collection per group. The plain app has no
   * collections: its rows are the same either way.
   */
  shared?: boolean
}

/**
 * Creates `groups` groups of `perGroup` records: on Roost one collection per
 * group (each client owns its collection) or one for all (`shared`), in the
 * plain app rows of `items`, raw rows of a collection per group or one for
 * all. All start at version 1.
 */
export async function createSlots(target: Target, layout: SlotLayout): Promise<Slot[][]> {
  const { groups, perGroup, shared = false } = layout
  const result: Slot[][] = []
  if (target.kind === 'feathers') {
    const items = await target.http.json<Array<{ id: number }>>(
      'POST',
      '/items',
      Array.from({ length: groups * perGroup }, (_, index) => ({ data: payload(index), version: 1 }))
    )
    for (let group = 0; group < groups; group++) {
      result.push(items.slice(group * perGroup, (group + 1) * perGroup).map((item) => ({ collectionId: '', id: String(item.id), version: 1 })))
    }
    return result
  }
  const sharedId = shared ? await newCollectionId(target, 0) : undefined
  for (let group = 0; group < groups; group++) {
    // In a shared collection the ids say whose records they are.
    const records = Array.from({ length: perGroup }, (_, index) => ({ id: shared ? `r${group}-${index}` : `r${index}`, data: payload(index) }))
    const collectionId = sharedId ?? (await newCollectionId(target, group))
    if (target.kind === 'roost') await target.http.json('POST', `/collections/${collectionId}/records`, records)
    else await target.db.insert(collectionId, records)
    result.push(records.map((record) => ({ collectionId, id: record.id, version: 1 })))
  }
  return result
}

const newCollectionId = async (target: Target, group: number): Promise<string> =>
  target.kind === 'roost' ? target.newCollection() : `c-${Date.now().toString(36)}-${group}`

/** How Roost is sent a versioned write: a whole-record `PUT`, or a `PATCH` of some fields. Both carry `{ data, version }`. */
export type RoostWrite = 'PUT' | 'PATCH'

/** What a write sends: the payload, or (W1e) its envelope, sealed by the load generator as an app's device would. */
export type RecordData = Payload | Envelope

/** What a write needs of a target: its HTTP client, or its database for raw targets (W4's writer process has only those). */
export type WriteTarget = Pick<RoostTarget, 'kind' | 'http'> | Pick<FeathersTarget, 'kind' | 'http'> | Pick<RawTarget, 'kind' | 'db'>

/**
 * One versioned write of `data` to the slot's record, based on the version
 * last seen: Roost PUT (or PATCH) with `version` in the body; plain Feathers PATCH (it has
 * no compare-and-set: the client sends the next version); raw
 * UPDATE … WHERE id = ? AND version = ?. A lost compare-and-set throws.
 */
export async function writeRecord(target: WriteTarget, slot: Slot, data: RecordData, roostWrite: RoostWrite = 'PUT'): Promise<void> {
  switch (target.kind) {
    case 'roost': {
      const path = `/collections/${slot.collectionId}/records/${slot.id}`
      slot.version = (await target.http.json<{ version: number }>(roostWrite, path, { data, version: slot.version })).version
      return
    }
    case 'feathers': {
      slot.version = (await target.http.json<{ version: number }>('PATCH', `/items/${slot.id}`, { data, version: slot.version + 1 })).version
      return
    }
    case 'raw': {
      if (!(await target.db.update(slot.collectionId, slot.id, slot.version, data))) {
        throw new Error(`raw update of ${slot.collectionId}/${slot.id} at version ${slot.version} matched no row`)
      }
      slot.version++
    }
  }
}
