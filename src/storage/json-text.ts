/**
 * The JSON text of a record's data, made once per value. A write's data is
 * serialised at the edge to check its size (hooks/record-size.ts) and again
 * by storage to keep it (rows.ts, batches): both ask here, so each value is
 * serialised once; for a 500-record upload that is a tenth of its CPU.
 *
 * Keyed by the value's identity, so it relies on what Roost already does:
 * data received from a client is never changed in place (a patch makes a
 * new object).
 */
const texts = new WeakMap<object, string>()

export function jsonText(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null'
  let text = texts.get(value)
  if (text === undefined) {
    text = JSON.stringify(value)
    texts.set(value, text)
  }
  return text
}

/** Bytes of the value's JSON text (UTF-8); 0 for no value. */
export const jsonBytes = (value: unknown): number => (value === undefined ? 0 : Buffer.byteLength(jsonText(value)))
