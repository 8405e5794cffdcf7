import { isIPv6 } from 'node:net'
import type { Middleware } from '@feathersjs/koa'
import type { Socket } from 'socket.io'

declare module '@feathersjs/feathers' {
  interface Params {
    /** The client's address as rate limits count it (see clientIp); set by the transport, never by the client. */
    ip?: string
  }
}

/**
 * The address a client is counted under. Without a trusted proxy it is the
 * socket's peer; behind one (`trustProxy`), the last X-Forwarded-For entry,
 * the one that proxy appended — earlier entries are whatever the client sent.
 * IPv6 addresses count by their /64: one host usually owns a whole /64, so a
 * finer key would let it pick a fresh address for every attempt.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined, trustProxy: boolean): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor
  const forwarded = trustProxy ? header?.split(',').at(-1)?.trim() : undefined
  return addressKey(forwarded || peer || 'unknown')
}

function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]
  if (!isIPv6(address)) return address
  const [head, tail = ''] = address.toLowerCase().split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === '' ? [] : tail.split(':')
  const groups = address.includes('::') ? [...front, ...Array(8 - front.length - back.length).fill('0'), ...back] : front
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** REST: puts the client's address into the service call's params (`params.ip`). Use before `rest()`. */
export const restClientIp =
  (trustProxy: boolean): Middleware =>
  async (ctx, next) => {
    ctx.feathers = { ...ctx.feathers, ip: clientIp(ctx.req.socket.remoteAddress, ctx.get('X-Forwarded-For') || undefined, trustProxy) }
    await next()
  }

/** socket.io: the same for every call of a connection, from its handshake. */
export const socketClientIp =
  (trustProxy: boolean) =>
  (socket: Socket, next: (error?: Error) => void): void => {
    const feathers = (socket as Socket & { feathers?: Record<string, unknown> }).feathers
    if (feathers) feathers.ip = clientIp(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], trustProxy)
    next()
  }
