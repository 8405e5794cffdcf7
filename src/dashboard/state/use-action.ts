import { useState } from 'preact/hooks'

/**
 * The state of a form's or button's action: busy while it runs (the button
 * disables itself and says so), and the error it last ended with, for
 * `ErrorText`. `run` clears the error, runs the action and keeps what it
 * throws; `setError` is there for resetting it as a dialog reopens.
 */
export function useAction(): {
  busy: boolean
  error: unknown
  run: (action: () => Promise<void>) => Promise<void>
  setError: (error: unknown) => void
} {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const run = async (action: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try {
      await action()
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
  }
  return { busy, error, run, setError }
}
