import { useEffect, useRef } from 'preact/hooks'
import type { CollectionEvent } from '../../client/index.js'
import { session } from './session.js'

/**
 * Calls `listener` on the realtime collection events the client hears
 * (`roost.onCollectionEvent`), for as long as the component lives.
 */
export function useCollectionEvents(listener: (event: CollectionEvent) => void): void {
  const latest = useRef(listener)
  latest.current = listener
  const roost = session.value?.roost
  useEffect(() => {
    if (!roost) return
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

/**
 * Collections this page is leaving (or has left): the events that follow a
 * departure must not make views ask for what we may no longer see.
 */
export const departing = new Set<string>()
