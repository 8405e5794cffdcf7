import { useEffect, useRef, useState } from 'preact/hooks'
import { ErrorText } from '../components/error-text.js'
import { account } from '../state/account.js'
import { announce } from '../state/notice.js'
import { Ready } from './account-ready.js'
import { CreateKeys, Unlock, WriteDown } from './account-setup.js'

/**
 * Where this account's keys are:
 * - none: no keys anywhere yet → create them here;
 * - elsewhere: the server has the public key, this browser not the secret → unlock (phrase or passphrase);
 * - phrase: just created, the recovery phrase shown once to be written down;
 * - ready: this browser holds them.
 */
type KeyState = { kind: 'loading' } | { kind: 'none' } | { kind: 'elsewhere'; passphrase: boolean } | { kind: 'phrase'; words: string[] } | { kind: 'ready'; passphrase: boolean | null }

/** #/account, "Encryption keys": the account's keys for end-to-end encrypted collections, on this browser. */
export function AccountView() {
  const [state, setState] = useState<KeyState>({ kind: 'loading' })
  const [error, setError] = useState<unknown>(null)
  const heading = useRef<HTMLHeadingElement>(null)

  const load = async () => {
    try {
      const [here, server] = await Promise.all([account().status(), account().onServer()])
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
