import { useEffect, useRef, useState } from 'preact/hooks'
import { MIN_PASSPHRASE_CHARACTERS } from '../../client/crypto/passphrase-seal.js'
import { ErrorText } from '../components/error-text.js'
import { serverKeyOfMine } from '../state/keys.js'
import { announce } from '../state/notice.js'
import { session } from '../state/session.js'

/**
 * Where this account's keys are:
 * - none: no keys anywhere yet → create them here;
 * - elsewhere: the server has the public key, this browser not the secret → unlock (phrase or passphrase);
 * - phrase: just created, the recovery phrase shown once to be written down;
 * - ready: this browser holds them.
 */
type KeyState = { kind: 'loading' } | { kind: 'none' } | { kind: 'elsewhere'; passphrase: boolean } | { kind: 'phrase'; words: string[] } | { kind: 'ready'; passphrase: boolean | null }

const account = () => {
  const current = session.value
  if (!current) throw new Error('Not signed in')
  return current.roost.account
}

/** #/account, "Encryption keys": the account's keys for end-to-end encrypted collections, on this browser. */
export function AccountView() {
  const [state, setState] = useState<KeyState>({ kind: 'loading' })
  const [error, setError] = useState<unknown>(null)
  const heading = useRef<HTMLHeadingElement>(null)

  const load = async () => {
    try {
      const [here, server] = await Promise.all([account().status(), serverKeyOfMine()])
      if (here === 'ready') setState({ kind: 'ready', passphrase: server?.passphrase ?? false })
      else setState(server ? { kind: 'elsewhere', passphrase: server.passphrase } : { kind: 'none' })
      setError(null)
    } catch (caught) {
      setError(caught)
    }
  }
  useEffect(() => {
    void load()
  }, [])

  const unlocked = (how: string) => {
    announce(`Unlocked with the ${how}: this browser now holds your keys.`)
    void load().then(() => heading.current?.focus())
  }

  return (
    <section aria-labelledby="account-title" class="account">
      <h1 id="account-title" ref={heading} tabIndex={-1}>
        Encryption keys
      </h1>
      <p class="lead muted">
        Your keys open end-to-end encrypted collections on this browser. They are made and kept on your devices; the server stores only the public half (and, if
        you set one, a copy locked by a passphrase it never sees).
      </p>
      <ErrorText error={error} />
      {state.kind === 'loading' && !error && <p class="muted">Looking for your keys…</p>}
      {state.kind === 'none' && <CreateKeys onCreated={(phrase) => setState({ kind: 'phrase', words: phrase.split(/\s+/) })} />}
      {state.kind === 'phrase' && <WriteDown words={state.words} onDone={() => void load().then(() => heading.current?.focus())} />}
      {state.kind === 'elsewhere' && <Unlock passphrase={state.passphrase} onUnlocked={unlocked} />}
      {state.kind === 'ready' && <Ready passphrase={state.passphrase} onPassphraseChanged={() => void load()} />}
    </section>
  )
}

function CreateKeys(props: { onCreated: (phrase: string) => void }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const create = async () => {
    setBusy(true)
    setError(null)
    try {
      props.onCreated((await account().create()).recoveryPhrase)
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
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
function WriteDown(props: { words: string[]; onDone: () => void }) {
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

function Unlock(props: { passphrase: boolean; onUnlocked: (how: string) => void }) {
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
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await account().unlockWithPassphrase(passphrase)
      props.onUnlocked()
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
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
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(null)
    try {
      await account().importRecoveryPhrase(phrase)
      props.onUnlocked()
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
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

function Ready(props: { passphrase: boolean | null; onPassphraseChanged: () => void }) {
  const [fingerprint, setFingerprint] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => {
    account().fingerprint().then(setFingerprint, setError)
  }, [])
  return (
    <>
      <div class="card" data-testid="keys-ready">
        <h2>
          <span class="ok-mark" aria-hidden="true">
            ✓
          </span>{' '}
          This browser holds your keys
        </h2>
        <p class="muted">Encrypted collections you are a member of open here. Compare this fingerprint with your other devices, or with people you share with: the same digits mean the same key.</p>
        <ErrorText error={error} />
        <p class="fingerprint-line">
          <span class="muted">Fingerprint</span>{' '}
          <code class="fingerprint" data-testid="fingerprint">
            {fingerprint ? groups(fingerprint) : '…'}
          </code>
        </p>
      </div>
      <AddDevice />
      <SetPassphrase isSet={props.passphrase} onChanged={props.onPassphraseChanged} />
    </>
  )
}

/** 30 digits as six groups of five: easier to read aloud. */
const groups = (digits: string) => digits.replace(/(\d{5})(?=\d)/g, '$1 ')

/** The QR code of the recovery phrase, for another device's camera; hidden until asked for (it is the phrase). */
function AddDevice() {
  const [svg, setSvg] = useState<string | null>(null)
  const [shown, setShown] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const toggle = async () => {
    if (shown) return setShown(false)
    setError(null)
    try {
      setSvg(svg ?? (await account().recoveryQrSvg()))
      setShown(true)
    } catch (caught) {
      setError(caught)
    }
  }
  return (
    <div class="card">
      <h2>Add another device</h2>
      <p>On the other device, sign in, open “Encryption keys” and enter your recovery phrase or passphrase — or scan this code with an app that reads it.</p>
      <p class="muted small">The code is your recovery phrase: show it only where nobody else can see the screen.</p>
      <button type="button" aria-expanded={shown} aria-controls="recovery-qr" onClick={() => void toggle()}>
        {shown ? 'Hide QR code' : 'Show QR code'}
      </button>
      <ErrorText error={error} />
      <div id="recovery-qr" class="qr" hidden={!shown}>
        {/* An <img> of a data: URL, never markup put into the page: the CSP allows data: images, and an image runs no script. */}
        {shown && svg && <img src={`data:image/svg+xml,${encodeURIComponent(svg)}`} alt="QR code of your recovery phrase" width={240} height={240} />}
      </div>
    </div>
  )
}

function SetPassphrase(props: { isSet: boolean | null; onChanged: () => void }) {
  const [passphrase, setPassphrase] = useState('')
  const [repeat, setRepeat] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const mismatch = repeat.length > 0 && repeat !== passphrase
  const submit = async (event: Event) => {
    event.preventDefault()
    if (passphrase !== repeat) return
    setBusy(true)
    setError(null)
    try {
      await account().setPassphrase(passphrase)
      setPassphrase('')
      setRepeat('')
      announce(props.isSet ? 'Passphrase changed.' : 'Passphrase set: other devices can now unlock with it.')
      props.onChanged()
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
  }
  const clear = async () => {
    setBusy(true)
    setError(null)
    try {
      await account().setPassphrase(null)
      announce('Passphrase removed: the server no longer keeps a copy of your keys.')
      props.onChanged()
    } catch (caught) {
      setError(caught)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="card stack" onSubmit={submit} aria-labelledby="passphrase-title">
      <h2 id="passphrase-title">Passphrase for other devices</h2>
      <p>
        {props.isSet ? (
          <>
            <span class="badge accent">set</span> Other devices can unlock with your passphrase. Setting a new one replaces it.
          </>
        ) : (
          'Set a passphrase to unlock other devices without the recovery phrase. The server keeps a copy of your keys locked by it; it never sees the passphrase.'
        )}
      </p>
      <div class="passphrase-fields">
        <div class="field">
          <label for="new-passphrase">{props.isSet ? 'New passphrase' : 'Passphrase'}</label>
          <input
            id="new-passphrase"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSPHRASE_CHARACTERS}
            value={passphrase}
            aria-describedby="passphrase-help"
            onInput={(e) => setPassphrase(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="repeat-passphrase">Repeat it</label>
          <input
            id="repeat-passphrase"
            type="password"
            autoComplete="new-password"
            required
            value={repeat}
            aria-invalid={mismatch}
            aria-describedby="passphrase-help"
            onInput={(e) => setRepeat(e.currentTarget.value)}
          />
        </div>
      </div>
      <p id="passphrase-help" class={mismatch ? 'error' : 'help'}>
        {mismatch ? 'The two passphrases differ.' : `At least ${MIN_PASSPHRASE_CHARACTERS} characters; a few unrelated words are best.`}
      </p>
      <ErrorText error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || mismatch}>
          {busy ? 'Working… (a few seconds)' : props.isSet ? 'Change passphrase' : 'Set passphrase'}
        </button>
        {props.isSet && (
          <button type="button" class="danger" disabled={busy} onClick={() => void clear()}>
            Remove passphrase
          </button>
        )}
      </div>
    </form>
  )
}
