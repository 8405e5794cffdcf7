import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import type { Collection } from '../../services/collections/collections.shared.js'
import { Dialog } from '../components/dialog.js'
import { ErrorText } from '../components/error-text.js'
import { labelOf, plural } from '../format.js'
import { serverApi } from '../state/server.js'
import { session } from '../state/session.js'
import { useAction } from '../state/use-action.js'

/** The server's rule for ids (src/ids.ts), for the browser's own check before sending. */
const ID_PATTERN = '(?!__proto__$)[A-Za-z0-9_~\\-][A-Za-z0-9_.~\\-]{0,127}'

/** New collection: a name, an id (optional: the server picks one), encrypted or not. */
export function CreateCollectionDialog(props: { open: boolean; onClose: () => void; onCreated: (collection: Collection) => void }) {
  const [name, setName] = useState('')
  const [id, setId] = useState('')
  const [encrypted, setEncrypted] = useState(false)
  const [keys, setKeys] = useState<'ready' | 'missing' | null>(null)
  const { busy, error, run, setError } = useAction()

  // Reset as the dialog opens, in the same task (a plain effect would run a frame later, after the first keys typed).
  useLayoutEffect(() => {
    if (!props.open) return
    setName('')
    setId('')
    setEncrypted(false)
    setError(null)
    setKeys(null)
    session.value?.roost.account.status().then(setKeys, () => setKeys(null))
  }, [props.open])

  const submit = async (event: Event) => {
    event.preventDefault()
    await run(async () => {
      const created = await serverApi().createCollection({ id: id.trim() || undefined, name: name.trim() || null, encrypted })
      props.onCreated(created)
    })
  }

  return (
    <Dialog title="New collection" open={props.open} onClose={props.onClose}>
      <form onSubmit={submit} class="stack">
        <label>
          Name
          <input name="name" autoFocus maxLength={256} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Shopping list" />
        </label>
        <label>
          Id <span class="muted small">(optional)</span>
          <input
            name="id"
            class="mono"
            pattern={ID_PATTERN}
            maxLength={128}
            autoCapitalize="off"
            spellcheck={false}
            value={id}
            aria-describedby="new-id-help"
            onInput={(e) => setId(e.currentTarget.value)}
          />
          <span id="new-id-help" class="help">
            Empty: the server picks one. Letters, digits, <code>_ - ~ .</code>; up to 128; apps use it to open the collection.
          </span>
        </label>
        <label class="inline check">
          <input type="checkbox" name="encrypted" checked={encrypted} disabled={keys === 'missing'} aria-describedby="new-encrypted-help" onChange={(e) => setEncrypted(e.currentTarget.checked)} />
          End-to-end encrypted
        </label>
        <p id="new-encrypted-help" class="help">
          {keys === 'missing' ? (
            <>
              Needs this device's encryption keys: <a href="#/account">set them up</a> first.
            </>
          ) : (
            'The server stores only ciphertext; members need their own keys to read it. It cannot be turned off later.'
          )}
        </p>
        <ErrorText error={error} />
        <div class="actions end">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create collection'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

/** Rename (admins and owners); an empty name clears it, and the id shows instead. */
export function RenameCollectionDialog(props: { collection: Collection | null; onClose: () => void; onRenamed: (collection: Collection) => void }) {
  const [name, setName] = useState('')
  const { busy, error, run, setError } = useAction()
  const collection = props.collection

  useLayoutEffect(() => {
    setName(collection?.name ?? '')
    setError(null)
  }, [collection])

  const submit = async (event: Event) => {
    event.preventDefault()
    if (!collection) return
    await run(async () => {
      props.onRenamed(await serverApi().renameCollection(collection.id, name.trim() || null))
    })
  }

  return (
    <Dialog title={collection ? `Rename “${labelOf(collection)}”` : 'Rename'} open={collection !== null} onClose={props.onClose}>
      <form onSubmit={submit} class="stack">
        <label>
          New name
          <input name="name" autoFocus maxLength={256} value={name} aria-describedby="rename-help" onInput={(e) => setName(e.currentTarget.value)} />
          <span id="rename-help" class="help">
            The id, <code>{collection?.id}</code>, stays as it is. Empty: no name, the id shows instead.
          </span>
        </label>
        <ErrorText error={error} />
        <div class="actions end">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save name'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

interface Loss {
  records: number
  members: number
  invitations: number
}

/**
 * Delete (owners): names what goes — the collection, every record, every
 * member's access, every pending invitation — with the counts, and for a
 * collection that holds records asks for its id typed out, so a slip of the
 * Enter key cannot lose data.
 */
export function DeleteCollectionDialog(props: { collection: Collection | null; onClose: () => void; onDeleted: (collection: Collection) => void }) {
  const [loss, setLoss] = useState<Loss | null>(null)
  const [typed, setTyped] = useState('')
  const { busy, error, run, setError } = useAction()
  const collection = props.collection

  useLayoutEffect(() => {
    setLoss(null)
    setTyped('')
    setError(null)
    if (!collection) return
    let current = true
    const api = serverApi()
    Promise.all([
      api.records(collection.id, { offset: 0, limit: 1 }).then((page) => page.total),
      api.members(collection.id).then((members) => members.length),
      api.sentInvitations(collection.id).then((invitations) => invitations.length)
    ]).then(
      ([records, members, invitations]) => current && setLoss({ records, members, invitations }),
      // The counts are a courtesy: without them the dialog still says what goes, and asks for the id.
      () => current && setLoss({ records: -1, members: -1, invitations: -1 })
    )
    return () => {
      current = false
    }
  }, [collection])

  // Until the counts are in, nothing can be confirmed; then an empty collection needs one click, others the id typed.
  const needsTyping = loss !== null && loss.records !== 0
  const confirmed = loss !== null && (!needsTyping || typed.trim() === collection?.id)
  const confirmInput = useRef<HTMLInputElement>(null)
  const keepButton = useRef<HTMLButtonElement>(null)
  useEffect(() => {
    if (loss) (needsTyping ? confirmInput.current : keepButton.current)?.focus()
  }, [loss])

  const submit = async (event: Event) => {
    event.preventDefault()
    if (!collection || !confirmed) return
    await run(async () => {
      await serverApi().deleteCollection(collection.id)
      props.onDeleted(collection)
    })
  }

  const count = (n: number | undefined, one: string) => (n === undefined || n < 0 ? `every ${one}` : plural(n, one))
  const others = loss && loss.members > 0 ? loss.members - 1 : undefined

  return (
    <Dialog title={collection ? `Delete “${labelOf(collection)}”?` : 'Delete'} open={collection !== null} onClose={props.onClose}>
      {collection && (
        <form onSubmit={submit} class="stack" aria-describedby="delete-what">
          <div id="delete-what">
            <p>
              This deletes the collection <strong>{labelOf(collection)}</strong>
              {collection.name !== null && (
                <>
                  {' '}
                  (id <code>{collection.id}</code>)
                </>
              )}{' '}
              from the server, for everyone. It cannot be undone. Gone with it:
            </p>
            <ul class="loss" aria-busy={loss === null}>
              <li>{loss === null ? 'every record (counting…)' : `${count(loss.records, 'record')}, tombstones and history included`}</li>
              <li>{others === undefined ? 'every member’s access' : others === 0 ? 'no other member has access' : `the access of ${plural(others, 'other member')}`}</li>
              <li>{loss === null || loss.invitations < 0 ? 'every pending invitation' : plural(loss.invitations, 'pending invitation')}</li>
            </ul>
            <p class="muted small">Copies already synced to devices stay there until those apps forget the collection.</p>
          </div>
          {needsTyping && (
            <label>
              <span>
                To confirm, type the id <code>{collection.id}</code>
              </span>
              <input ref={confirmInput} name="confirm-id" class="mono" autoComplete="off" autoCapitalize="off" spellcheck={false} value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
            </label>
          )}
          <ErrorText error={error} />
          <div class="actions end">
            <button type="button" ref={keepButton} onClick={props.onClose}>
              Keep it
            </button>
            <button type="submit" class="danger solid" disabled={busy || !confirmed}>
              {busy ? 'Deleting…' : 'Delete collection'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  )
}
