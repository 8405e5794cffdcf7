import { useEffect, useState } from 'preact/hooks'
import type { Member } from '../../services/members/members.shared.js'
import { Dialog } from '../components/dialog.js'
import { ErrorText } from '../components/error-text.js'
import { navigate } from '../router.js'
import { announce } from '../state/notice.js'
import { serverApi } from '../state/server.js'
import { departing } from '../state/live.js'
import { useAction } from '../state/use-action.js'

/* The confirmations of the members tab: removing someone, leaving. */

export function RemoveDialog(props: { collectionId: string; member: Member | null; onClose: () => void; onRemoved: (member: Member) => void }) {
  const { busy, error, run, setError } = useAction()
  useEffect(() => setError(null), [props.member])
  const remove = async () => {
    const member = props.member
    if (!member) return
    await run(async () => {
      await serverApi().removeMember(props.collectionId, member.userId)
      props.onRemoved(member)
    })
  }
  return (
    <Dialog title={props.member ? `Remove ${props.member.email}?` : 'Remove'} open={props.member !== null} onClose={props.onClose}>
      <p>
        They lose access to <code>{props.collectionId}</code> at once: no more reads, writes or changes. What their devices already synced stays on them. In an
        encrypted collection the key is replaced, so they cannot read anything written from now on.
      </p>
      <ErrorText error={error} />
      <div class="actions end">
        <button type="button" autoFocus onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" class="danger solid" disabled={busy} onClick={() => void remove()}>
          {busy ? 'Removing…' : 'Remove member'}
        </button>
      </div>
    </Dialog>
  )
}

export function LeaveDialog(props: { collectionId: string; open: boolean; onClose: () => void; leaving: (now: boolean) => void }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  useEffect(() => setError(null), [props.open])
  const leave = async () => {
    setBusy(true)
    setError(null)
    props.leaving(true)
    departing.add(props.collectionId)
    try {
      await serverApi().leave(props.collectionId)
      announce(`You left ${props.collectionId}.`)
      props.onClose()
      navigate({ name: 'collections' })
    } catch (caught) {
      props.leaving(false)
      departing.delete(props.collectionId)
      setError(caught)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog title="Leave this collection?" open={props.open} onClose={props.onClose}>
      <p>
        You lose access to <code>{props.collectionId}</code> and its records, on this page and in your apps. To come back, someone who manages it has to invite you
        again.
      </p>
      <ErrorText error={error} />
      <div class="actions end">
        <button type="button" autoFocus onClick={props.onClose}>
          Stay
        </button>
        <button type="button" class="danger solid" disabled={busy} onClick={() => void leave()}>
          {busy ? 'Leaving…' : 'Leave collection'}
        </button>
      </div>
    </Dialog>
  )
}
