import { useEffect, useState } from 'preact/hooks'
import { MIN_PASSPHRASE_CHARACTERS } from '../../client/crypto/passphrase-seal.js'
import { ErrorText } from '../components/error-text.js'
import { account } from '../state/account.js'
import { announce } from '../state/notice.js'
import { useAction } from '../state/use-action.js'

/* This browser holds the keys: the fingerprint, the QR code for another device, the passphrase. */

export function Ready(props: { passphrase: boolean | null; onPassphraseChanged: () => void }) {
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
  const { busy, error, run } = useAction()
  const mismatch = repeat.length > 0 && repeat !== passphrase
  const submit = async (event: Event) => {
    event.preventDefault()
    if (passphrase !== repeat) return
    await run(async () => {
      await account().setPassphrase(passphrase)
      setPassphrase('')
      setRepeat('')
      announce(props.isSet ? 'Passphrase changed.' : 'Passphrase set: other devices can now unlock with it.')
      props.onChanged()
    })
  }
  const clear = async () => {
    await run(async () => {
      await account().setPassphrase(null)
      announce('Passphrase removed: the server no longer keeps a copy of your keys.')
      props.onChanged()
    })
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
