/**
 * The AES-GCM associated data of a record envelope (docs/ENCRYPTION.md,
 * "Associated data"). It binds a ciphertext to one format version, one
 * collection, one record and one key epoch: the server stores the envelope
 * but cannot move it to another record or collection, or relabel its epoch,
 * without decryption failing.
 *
 *   "roost.record" (12 ASCII bytes) || version (1 byte)
 *   || u32be(len) || collectionId (UTF-8) || u32be(len) || recordId (UTF-8)
 *   || u32be(epoch)
 *
 * Length prefixes make the encoding unambiguous ("ab"+"c" ≠ "a"+"bc")
 * whatever characters a future id rule allows.
 */
const LABEL = new TextEncoder().encode('roost.record')

export interface AadFields {
  version: number
  collectionId: string
  recordId: string
  epoch: number
}

export function associatedData({ version, collectionId, recordId, epoch }: AadFields): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder()
  const collection = encoder.encode(collectionId)
  const record = encoder.encode(recordId)
  const out = new Uint8Array(LABEL.length + 1 + 4 + collection.length + 4 + record.length + 4)
  const view = new DataView(out.buffer)
  let at = 0
  out.set(LABEL, at)
  at += LABEL.length
  view.setUint8(at, version)
  at += 1
  for (const part of [collection, record]) {
    view.setUint32(at, part.length)
    out.set(part, at + 4)
    at += 4 + part.length
  }
  view.setUint32(at, epoch)
  return out
}
