/**
 * Record contents for the workloads: a JSON object of about 200 bytes, like a
 * small note or task, different for every record and every write.
 */
const FILLER = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim'

export interface Payload {
  title: string
  body: string
  done: boolean
  n: number
  tags: string[]
  /** W4: when the write was sent, on the clock every load process shares (lib/clock.ts). */
  t?: number
}

export function payload(n: number, t?: number): Payload {
  const body = FILLER.slice(0, 96 + (n % 16))
  return { title: `Item ${n}`, body, done: n % 2 === 0, n, tags: ['bench', `group-${n % 10}`], ...(t === undefined ? {} : { t }) }
}

/** Bytes of one payload as JSON, for the report. */
export const payloadBytes = Buffer.byteLength(JSON.stringify(payload(12345)))
