import { useEffect, useRef, useState } from 'preact/hooks'
import { ErrorText } from '../components/error-text.js'
import { account } from '../state/account.js'
import { useAction } from '../state/use-action.js'

/* Setting up this browser's keys: create them (and write the phrase down), or unlock with the phrase or passphrase. */

export function CreateKeys(props: { onCreated: (phrase: string) => void }) {
  const { busy, error, run } = useAction()
  const create = async () => {
    await run(async () => {
      props.onCreated((await account().create()).recoveryPhrase)
    })
  }
  return (
    <div class="card" data-testid="keys-none">
      <h2>No keys yet</h2>
      <p>This account has no encryption keys. Create them here; you will get a 24-word recovery phrase to write down, which is how you unlock your other devices (or this one, if its data is cleared).</p>
      <ErrorText error={error} />
      <button type="button" class="primary" disabled={busy} onClick={() => void create()}>
        {busy ? 'Creating keys…' : 'Create encryption keys'}
      </button>
    </div>
  )
}

/** The recovery phrase, once: numbered words, and a step that asks the person to confirm they wrote it down. */
export function WriteDown(props: { words: string[]; onDone: () => void }) {
  const [written, setWritten] = useState(false)
  const title = useRef<HTMLHeadingElement>(null)
  useEffect(() => title.current?.focus(), [])
  return (
    <div class="card phrase-card" data-testid="recovery-phrase">
      <h2 ref={title} tabIndex={-1}>
        Write down your recovery phrase
      </h2>
      <p>
        These {props.words.length} words are the only way back to your encrypted data if you lose this browser's data. <strong>Write them on paper, in order</strong>
        , and keep them somewhere safe. This page will not show them again. Anyone who has them can read your encrypted collections.
      </p>
      <ol class="phrase" aria-label="Recovery phrase">
        {props.words.map((word, index) => (
          <li key={index}>
            <span class="n" aria-hidden="true">
              {index + 1}
            </span>
            <span class="word">{word}</span>
          </li>
        ))}
      </ol>
      <label class="inline check">
        <input type="checkbox" checked={written} onChange={(e) => setWritten(e.currentTarget.checked)} />I have written down these {props.words.length} words and
        keep them somewhere safe
      </label>
      <div class="actions">
        <button type="button" class="primary" disabled={!written} onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  )
}

export function Unlock(props: { passphrase: boolean; onUnlocked: (how: string) => void }) {
  return (
    <>
      <div class="card" data-testid="keys-elsewhere">
        <h2>Unlock this browser</h2>
        <p>This account has encryption keys, made on another device; this browser does not hold them yet. Unlock it with your passphrase or your recovery phrase.</p>
      </div>
      <div class="unlock-grid">
        <PassphraseUnlock available={props.passphrase} onUnlocked={() => props.onUnlocked('passphrase')} />
        <PhraseUnlock onUnlocked={() => props.onUnlocked('recovery phrase')} />
      </div>
    </>
  )
}

function PassphraseUnlock(props: { available: boolean; onUnlocked: () => void }) {
  const [passphrase, setPassphrase] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      await account().unlockWithPassphrase(passphrase)
      props.onUnlocked()
    })
  }
  return (
    <form class="card stack" onSubmit={submit} aria-labelledby="unlock-passphrase-title">
      <h3 id="unlock-passphrase-title">With your passphrase</h3>
      {props.available ? (
        <>
          <div class="field">
            <label for="unlock-passphrase">Passphrase</label>
            <input id="unlock-passphrase" type="password" autoComplete="current-password" required value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} />
          </div>
          <ErrorText error={error} />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Unlocking… (a few seconds)' : 'Unlock with passphrase'}
            </button>
          </div>
        </>
      ) : (
        <p class="muted">No passphrase is set for this account. Use the recovery phrase, or set a passphrase on a device that holds the keys.</p>
      )}
    </form>
  )
}

function PhraseUnlock(props: { onUnlocked: () => void }) {
  const [phrase, setPhrase] = useState('')
  const { busy, error, run } = useAction()
  const submit = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      await account().importRecoveryPhrase(phrase)
      props.onUnlocked()
    })
  }
  return (
    <form class="card stack" onSubmit={submit} aria-labelledby="unlock-phrase-title">
      <h3 id="unlock-phrase-title">With your recovery phrase</h3>
      <div class="field">
        <label for="unlock-phrase">Recovery phrase (24 words)</label>
        <textarea
          id="unlock-phrase"
          class="phrase-input"
          required
          autoComplete="off"
          autoCapitalize="off"
          spellcheck={false}
          value={phrase}
          aria-describedby="unlock-phrase-help"
          onInput={(e) => setPhrase(e.currentTarget.value)}
        />
        <span id="unlock-phrase-help" class="help">
          Separated by spaces or new lines.
        </span>
      </div>
      <ErrorText error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock with recovery phrase'}
        </button>
      </div>
    </form>
  )
}
