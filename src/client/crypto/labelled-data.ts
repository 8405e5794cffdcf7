/**
 * The associated data of Roost's key formats (docs/ENCRYPTION.md, "Wrapped
 * collection keys" and "Passphrase copy of the account secret"), built the
 * way associated-data.ts builds a record's:
 *
 *   label (ASCII) ‖ version (1 byte) ‖ field ‖ field ‖ …
 *   a text field:   u32be(byte length) ‖ UTF-8 bytes
 *   a number field: u32be(value)
 *
 * Length prefixes make the encoding unambiguous ("ab"+"c" ≠ "a"+"bc")
 * whatever characters an id may hold, so two different sets of fields can
 * never give the same bytes.
 */
export type LabelledField = { text: string } | { u32: number }

export function labelledData(label: string, version: number, fields: readonly LabelledField[]): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder()
  const head = encoder.encode(label)
  const parts = fields.map((field) => ('text' in field ? encoder.encode(field.text) : field.u32))
  const size = head.length + 1 + parts.reduce<number>((sum, part) => sum + 4 + (typeof part === 'number' ? 0 : part.length), 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  out.set(head)
  let at = head.length
  view.setUint8(at, version)
  at += 1
  for (const part of parts) {
    if (typeof part === 'number') {
      view.setUint32(at, part)
      at += 4
    } else {
      view.setUint32(at, part.length)
      out.set(part, at + 4)
      at += 4 + part.length
    }
  }
  return out
}
