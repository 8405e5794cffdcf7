import { useState } from 'preact/hooks'
import { ErrorText } from '../components/error-text.js'
import { navigate, route } from '../router.js'
import { signIn, signUp } from '../state/session.js'
import { useAction } from '../state/use-action.js'

/** Sign in, or create an account (the same accounts as the API). */
export function SignInView(props: { mode: 'signin' | 'signup' }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const { busy, error, run } = useAction()
  const signingUp = props.mode === 'signup'

  const submit = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      await (signingUp ? signUp(email, password) : signIn(email, password))
      // To the collections, unless the person (or a link) already went elsewhere meanwhile.
      if (route.value.name === 'signin' || route.value.name === 'signup') navigate({ name: 'collections' })
    })
  }

  return (
    <section class="auth-card" aria-labelledby="auth-title">
      <h1 id="auth-title">{signingUp ? 'Create an account' : 'Sign in to Roost'}</h1>
      <form onSubmit={submit} aria-describedby={error ? 'auth-error' : undefined}>
        <label>
          E-mail
          <input type="email" name="email" autoComplete={signingUp ? 'email' : 'username'} required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            minLength={signingUp ? 8 : undefined}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorText error={error} id="auth-error" />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? (signingUp ? 'Creating…' : 'Signing in…') : signingUp ? 'Create account' : 'Sign in'}
        </button>
      </form>
      <p>
        {signingUp ? (
          <>
            Have an account? <a href="#/signin">Sign in</a>
          </>
        ) : (
          <>
            New here? <a href="#/signup">Create an account</a>
          </>
        )}
      </p>
    </section>
  )
}
