import type { Middleware } from '@feathersjs/koa'
import type { Server } from 'socket.io'

/**
 * The page's Content-Security-Policy: only this origin's own scripts,
 * styles, fonts and manifest; calls only to this origin; no plug-ins,
 * frames or foreign forms. `'wasm-unsafe-eval'` lets the client compile
 * WebAssembly (its Argon2id) and nothing else: no `eval` of JavaScript.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  // Files are what their Content-Type says, never sniffed into scripts.
  'X-Content-Type-Options': 'nosniff',
  // Collection ids in the page's URL stay out of other sites' logs.
  'Referrer-Policy': 'no-referrer',
  // No framing (clickjacking), for browsers older than frame-ancestors.
  'X-Frame-Options': 'DENY',
  // No window opened from elsewhere keeps a handle on the page.
  'Cross-Origin-Opener-Policy': 'same-origin'
}

/**
 * On every response, API answers and errors included (they cost nothing
 * there, and a JSON answer opened in a tab is then a page without powers).
 * Set before anything runs, so error answers (./http-errors.ts) keep them.
 */
export const securityHeaders = (): Middleware => async (ctx, next) => {
  ctx.set(SECURITY_HEADERS)
  await next()
}

/** socket.io's HTTP answers (long-polling, the handshake) bypass Koa: engine.io gets the same headers. */
export function engineSecurityHeaders(io: Server): void {
  io.engine.on('headers', (headers: Record<string, string>) => Object.assign(headers, SECURITY_HEADERS))
}
