import type { Json } from '../../client/index.js'

/** The text parsed as JSON, or what is wrong with it, in words. */
export function parseJson(text: string): { ok: true; value: Json } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: false, error: 'Enter a JSON value, such as {"title": "…"} (null is allowed).' }
  try {
    return { ok: true, value: JSON.parse(text) as Json }
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` }
  }
}

export const prettyJson = (value: unknown) => JSON.stringify(value, null, 2)

/** A labelled textarea for JSON, checked as it is typed; the error is tied to the field for screen readers. */
export function JsonEditor(props: { id: string; label: string; value: string; onInput(value: string): void; autoFocus?: boolean }) {
  const parsed = parseJson(props.value)
  const errorId = `${props.id}-error`
  return (
    <label class="json-editor">
      <span>{props.label}</span>
      <textarea
        id={props.id}
        value={props.value}
        spellcheck={false}
        autoFocus={props.autoFocus}
        aria-invalid={!parsed.ok}
        aria-describedby={parsed.ok ? undefined : errorId}
        onInput={(event) => props.onInput(event.currentTarget.value)}
        rows={12}
      />
      {!parsed.ok && (
        <span class="error field-error" id={errorId}>
          {parsed.error}
        </span>
      )}
    </label>
  )
}
