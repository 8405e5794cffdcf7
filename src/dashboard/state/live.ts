import { useEffect, useRef } from 'preact/hooks'
import { session } from './session.js'

export interface CollectionEvent {
  type: 'lock' | 'member' | 'removed' | 'keys'
  collectionId: string
}

type WithEvents = { onCollectionEvent?: (listener: (event: CollectionEvent) => void) => () => void }

/**
 * Calls `listener` on the realtime collection events the client hears
 * (contract B.6), for as long as the component lives. A client without them
 * (before the library's lands) simply never calls.
 */
export function useCollectionEvents(listener: (event: CollectionEvent) => void): void {
  const latest = useRef(listener)
  latest.current = listener
  const roost = session.value?.roost as WithEvents | undefined
  useEffect(() => {
    if (!roost || typeof roost.onCollectionEvent !== 'function') return
    return roost.onCollectionEvent((event) => latest.current(event))
  }, [roost])
}

/** Calls `tick` every `ms` while the page is visible, and once when it becomes visible again. */
export function useWhileVisible(tick: () => void, ms: number): void {
  const latest = useRef(tick)
  latest.current = tick
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined
    const start = () => {
      clearInterval(timer)
      if (document.visibilityState === 'visible') timer = setInterval(() => latest.current(), ms)
    }
    const onVisibility = () => {
      if (document.visibilityState === 'visible') latest.current()
      start()
    }
    start()
    document.addEventListener('visibilitychange', onVisibility)
    return () => {
      clearInterval(timer)
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [ms])
}
