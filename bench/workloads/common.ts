import type { Payload } from '../lib/payload.js'
import { payload } from '../lib/payload.js'
import type { Target } from '../targets/types.js'

/** A record a client keeps writing, with the version it last saw. */
export interface Slot {
  collectionId: string
  id: string
  version: number
}

/**
 * Creates `groups` groups of `perGroup` records: on Roost one collection per
 * group (each client owns its collection), in the plain app rows of `items`,
 * raw rows of a collection per group. All start at version 1.
 */
export async function createSlots(target: Target, groups: number, perGroup: number): Promise<Slot[][]> {
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
  for (let group = 0; group < groups; group++) {
    const records = Array.from({ length: perGroup }, (_, index) => ({ id: `r${index}`, data: payload(index) }))
    let collectionId: string
    if (target.kind === 'roost') {
      collectionId = await target.newCollection()
      await target.http.json('POST', `/collections/${collectionId}/records`, records)
    } else {
      collectionId = `c-${Date.now().toString(36)}-${group}`
      await target.db.insert(collectionId, records)
    }
    result.push(records.map((record) => ({ collectionId, id: record.id, version: 1 })))
  }
  return result
}

/**
 * One versioned write of `data` to the slot's record, based on the version
 * last seen: Roost PUT with `version` in the body; plain Feathers PATCH (it has
 * no compare-and-set: the client sends the next version); raw
 * UPDATE … WHERE id = ? AND version = ?. A lost compare-and-set throws.
 */
export async function writeRecord(target: Target, slot: Slot, data: Payload): Promise<void> {
  switch (target.kind) {
    case 'roost': {
      const path = `/collections/${slot.collectionId}/records/${slot.id}`
      slot.version = (await target.http.json<{ version: number }>('PUT', path, { data, version: slot.version })).version
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
