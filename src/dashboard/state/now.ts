import { useEffect, useState } from 'preact/hooks'

/** The current time, re-read every `everyMs`: relative times and countdowns stay true without a reload. */
export function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [everyMs])
  return now
}
