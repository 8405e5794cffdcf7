/**
 * One clock for several processes of this machine: milliseconds of
 * CLOCK_MONOTONIC (what `process.hrtime` reads on Linux), which the kernel
 * keeps for the whole machine. A time taken in one process (a write sent by
 * W4's writer) can be compared with one taken in another (its event received
 * by a subscriber process), with sub-millisecond precision and unaffected by
 * changes of the wall clock. `performance.now()` would not do: its origin is
 * each process's own start. `clockCheck` tells whether a child process
 * really shares it.
 */
export const sharedClock = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * Whether a child's reading of the shared clock, asked for after `sentAt`
 * and answered before `answeredAt` (both read here), lies between the two,
 * as it must if both processes read the same clock.
 */
export function clockCheck(sentAt: number, childReading: number, answeredAt: number): string | undefined {
  if (childReading >= sentAt && childReading <= answeredAt) return undefined
  return `a load process's clock reads ${childReading.toFixed(3)} ms, outside ${sentAt.toFixed(3)}–${answeredAt.toFixed(3)} ms read here around the question: the processes do not share one clock`
}
