import { io, type Socket } from 'socket.io-client'

/**
 * A socket.io connection that sends Feathers calls as raw packets, so that a
 * test can send what the socket.io client itself cannot encode (its encoder
 * walks every argument recursively: 10,000 levels overflow the *client's*
 * stack before anything is sent) and can see the server's answer as sent.
 */
export interface RawSocket {
  socket: Socket
  /** Sends `["<method>", "<path>", …args]` as JSON text, with an ack id, and resolves with the server's `[error, result]`. */
  call(method: string, path: string, argsJson: string[], timeoutMs?: number): Promise<{ error: { code?: number; message?: string; name?: string; data?: unknown } | null; result: unknown }>
  close(): void
}

let nextAck = 100_000

export async function rawSocket(url: string, accessToken?: string): Promise<RawSocket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  const pending = new Map<number, (answer: [unknown, unknown]) => void>()
  // Acks of our own ids come back as "3<id>[…]" engine messages; the client ignores ids it did not issue.
  socket.io.engine.on('message', (data: unknown) => {
    if (typeof data !== 'string') return
    const match = /^3(\d+)(\[[\s\S]*)$/.exec(data)
    const resolve = match ? pending.get(Number(match[1])) : undefined
    if (match && resolve) {
      pending.delete(Number(match[1]))
      resolve(JSON.parse(match[2]) as [unknown, unknown])
    }
  })
  const raw: RawSocket = {
    socket,
    call(method, path, argsJson, timeoutMs = 10_000) {
      const ack = nextAck++
      const packet = `2${ack}[${[JSON.stringify(method), JSON.stringify(path), ...argsJson].join(',')}]`
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(ack)
          reject(new Error(`No answer to ${method} ${path} within ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(ack, ([error, result]) => {
          clearTimeout(timer)
          resolve({ error: (error ?? null) as { code?: number; message?: string } | null, result })
        })
        socket.io.engine.send(packet)
      })
    },
    close: () => socket.disconnect()
  }
  if (accessToken !== undefined) {
    const login = await raw.call('create', 'authentication', [JSON.stringify({ strategy: 'jwt', accessToken }), '{}'])
    if (login.error !== null) throw new Error(`raw socket could not authenticate: ${login.error.message}`)
  }
  return raw
}
