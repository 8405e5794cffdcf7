import { useState } from 'preact/hooks'
import { serverApi } from '../state/server.js'
import { messageOf } from './error-text.js'

/**
 * Downloads an export (NDJSON: a header line, then every record, tombstones
 * included) of one collection, or of every collection of the caller without
 * `collectionId`. The server streams it; the browser turns the stream into
 * a file through an object URL, released once the download has started.
 */
export function ExportButton(props: { collectionId?: string; label?: string; encrypted?: boolean }) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null })
  const label = props.label ?? (props.collectionId === undefined ? 'Export all my data' : 'Export')
  const run = async () => {
    setState({ busy: true, error: null })
    try {
      const { filename, body } = await serverApi().exportData(props.collectionId)
      const blob = await new Response(body).blob()
      const url = URL.createObjectURL(blob)
      const link = document.createElement('a')
      link.href = url
      link.download = filename
      link.hidden = true
      document.body.append(link)
      link.click()
      link.remove()
      // The download has its own reference by now; a moment's grace for slower browsers.
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
      setState({ busy: false, error: null })
    } catch (error) {
      setState({ busy: false, error: messageOf(error) })
    }
  }
  return (
    <span class="export">
      <button
        type="button"
        onClick={() => void run()}
        disabled={state.busy}
        aria-describedby={state.error ? 'export-error' : undefined}
        title={
          props.collectionId === undefined
            ? 'Every collection you are a member of, as one NDJSON file (encrypted ones as ciphertext)'
            : `This collection as an NDJSON file, tombstones included${props.encrypted ? ' (as ciphertext: the server never has the plaintext)' : ''}`
        }
      >
        {state.busy ? 'Exporting…' : label}
      </button>
      {state.error && (
        <span class="error" role="alert" id="export-error">
          Export failed: {state.error}
        </span>
      )}
    </span>
  )
}
