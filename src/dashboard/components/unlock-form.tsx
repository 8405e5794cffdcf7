import { useState } from 'preact/hooks'
import { InvalidRecoveryPhraseError, type Roost } from '../../client/index.js'
import { useAction } from '../state/use-action.js'
import { ErrorText } from './error-text.js'

/**
 * Unlocks this device for the account's encrypted collections, with the
 * recovery phrase (24 words) or the passphrase set on another device. Words
 * that are a valid recovery phrase are imported as one; anything else is
 * tried as the passphrase. The Encryption keys page has the full set
 * (creating keys, the QR code).
 */
export function UnlockForm(props: { roost: Roost; onUnlocked(): void }) {
  const [secret, setSecret] = useState('')
  const { busy, error, run } = useAction()
  const submit = async () => {
    await run(async () => {
      const words = secret.trim().split(/\s+/)
      let imported = false
      if (words.length >= 12) {
        try {
          await props.roost.account.importRecoveryPhrase(words.join(' '))
          imported = true
        } catch (caught) {
          if (!(caught instanceof InvalidRecoveryPhraseError)) throw caught
        }
      }
      if (!imported) await props.roost.account.unlockWithPassphrase(secret)
      setSecret('')
      props.onUnlocked()
    })
  }
  return (
    <form
      class="unlock"
      onSubmit={(event) => {
        event.preventDefault()
        void submit()
      }}
    >
      <label>
        <span>Recovery phrase or passphrase</span>
        <input type="password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} autoComplete="off" spellcheck={false} required />
      </label>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || secret.trim() === ''}>
          {busy ? 'Unlocking…' : 'Unlock on this device'}
        </button>
      </div>
      <ErrorText error={error} />
    </form>
  )
}
