import { useEffect, useRef, useState } from 'preact/hooks'
import { Dialog } from './components/dialog.js'
import { SyncStatusLine } from './components/sync-status.js'
import { navigate, route, type Route } from './router.js'
import { pendingInvitations, refreshInvitations } from './state/invitations.js'
import { useWhileVisible } from './state/live.js'
import { notice } from './state/notice.js'
import { isOperator } from './state/operator.js'
import { session, signOut } from './state/session.js'
import { AccountView } from './views/account.js'
import { CollectionView } from './views/collection.js'
import { CollectionsView } from './views/collections.js'
import { InvitationsView } from './views/invitations.js'
import { OperatorView } from './views/operator.js'
import { SignInView } from './views/sign-in.js'

const NAV: Array<{ label: string; route: Route; href: string; operatorsOnly?: boolean }> = [
  { label: 'Collections', route: { name: 'collections' }, href: '#/' },
  { label: 'Invitations', route: { name: 'invitations' }, href: '#/invitations' },
  { label: 'Encryption keys', route: { name: 'account' }, href: '#/account' },
  // Shown once the server said this user is one of its operators (state/operator.ts).
  { label: 'Server', route: { name: 'operator' }, href: '#/operator', operatorsOnly: true }
]

const isCurrent = (item: Route, current: Route) => item.name === current.name || (item.name === 'collections' && current.name === 'collection')

export function App() {
  const current = route.value
  const signedIn = session.value
  const main = useRef<HTMLElement>(null)

  // Signed out: only the sign-in and sign-up pages. Signed in: not those.
  useEffect(() => {
    if (!signedIn && current.name !== 'signin' && current.name !== 'signup') navigate({ name: 'signin' })
    if (signedIn && (current.name === 'signin' || current.name === 'signup')) navigate({ name: 'collections' })
  }, [signedIn, current.name])

  // The menu's invitation count stays roughly current (invitations have no realtime event of their own).
  useWhileVisible(() => {
    if (session.value) void refreshInvitations()
  }, 60_000)

  // A new view: focus its main region, so keyboard and screen-reader users start there.
  useEffect(() => {
    main.current?.focus({ preventScroll: true })
  }, [current])

  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Roost
        </a>
        {signedIn && (
          <>
            <nav aria-label="Main">
              <ul>
                {NAV.filter((item) => !item.operatorsOnly || isOperator.value === true).map((item) => (
                  <li key={item.href}>
                    <a href={item.href} aria-current={isCurrent(item.route, current) ? 'page' : undefined}>
                      {item.label}
                      {item.route.name === 'invitations' && <InvitationCount />}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <SignOut email={signedIn.email} />
          </>
        )}
      </header>
      {signedIn && <SyncStatusLine />}
      <p class={notice.value ? 'notice' : 'notice empty'} role="status" aria-live="polite" data-testid="notice">
        {notice.value?.text}
      </p>
      <main id="main" ref={main} tabIndex={-1}>
        <View route={current} />
      </main>
    </>
  )
}

function View(props: { route: Route }) {
  const r = props.route
  if (!session.value) return r.name === 'signup' ? <SignInView mode="signup" /> : <SignInView mode="signin" />
  switch (r.name) {
    case 'collections':
      return <CollectionsView />
    case 'collection':
      return <CollectionView key={r.id} id={r.id} tab={r.tab} />
    case 'invitations':
      return <InvitationsView />
    case 'account':
      return <AccountView />
    case 'operator':
      return <OperatorView />
    case 'not-found':
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{r.path}</code>. <a href="#/">Back to your collections</a>.
          </p>
        </section>
      )
    default:
      return null
  }
}

/** "Invitations 2": the count of pending ones, read as "2 pending" by screen readers. */
function InvitationCount() {
  const count = pendingInvitations.value?.length ?? 0
  if (count === 0) return null
  return (
    <span class="count">
      <span class="visually-hidden">, </span>
      {count}
      <span class="visually-hidden"> pending</span>
    </span>
  )
}

function SignOut(props: { email: string }) {
  const [pending, setPending] = useState<number | null>(null)
  const attempt = async (force: boolean) => {
    const result = await signOut({ force })
    setPending(result.signedOut ? null : result.pending)
  }
  return (
    <div class="who">
      <span class="email" title="Signed in as">
        {props.email}
      </span>
      <button type="button" onClick={() => void attempt(false)}>
        Sign out
      </button>
      <Dialog title="Changes not yet sent" open={pending !== null} onClose={() => setPending(null)}>
        <p>
          {pending} {pending === 1 ? 'change has' : 'changes have'} not reached the server yet. If you sign out now, {pending === 1 ? 'it stays' : 'they stay'} on this
          device and {pending === 1 ? 'is' : 'are'} sent the next time you sign in here.
        </p>
        <div class="actions">
          <button type="button" onClick={() => setPending(null)}>
            Stay signed in
          </button>
          <button type="button" class="danger" onClick={() => void attempt(true)}>
            Sign out anyway
          </button>
        </div>
      </Dialog>
    </div>
  )
}
