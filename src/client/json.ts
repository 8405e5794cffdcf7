// TEMPORARY stand-in; replaced by the stores branch.
import { ClientInputError } from './errors.js'
export function assertJson(value: unknown, what: string): void {
  try { if (JSON.stringify(value) === undefined) throw new Error('x') } catch { throw new ClientInputError(`${what} is not JSON`) }
}
