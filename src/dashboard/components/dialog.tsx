import type { ComponentChildren } from 'preact'
import { useLayoutEffect, useRef } from 'preact/hooks'

/**
 * A modal built on <dialog>: the browser traps focus inside it, closes it
 * on Escape and gives focus back where it came from.
 */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null)
  // A layout effect: opened in the same task as the render, not a frame later (a plain effect waits for the next frame,
  // and a stale 'close' event of the dialog's last closing could arrive in between and close it again).
  useLayoutEffect(() => {
    const dialog = ref.current
    if (!dialog) return
    if (props.open && !dialog.open) dialog.showModal()
    if (!props.open && dialog.open) dialog.close()
  }, [props.open])
  return (
    <dialog
      ref={ref}
      class={props.wide ? 'wide' : undefined}
      aria-labelledby="dialog-title"
      // The 'close' event comes a task after the dialog closed: if it was opened again in between (Escape, then Enter at once), this one is stale.
      onClose={() => {
        if (!ref.current?.open) props.onClose()
      }}
      onCancel={props.onClose}
    >
      {props.open && (
        <>
          <header class="dialog-header">
            <h2 id="dialog-title">{props.title}</h2>
            <button type="button" class="icon" aria-label="Close" onClick={props.onClose}>
              ×
            </button>
          </header>
          {props.children}
        </>
      )}
    </dialog>
  )
}
