/**
 * The server's online calls for the views (docs/CLIENT.md, "roost.server"): the
 * signed-in user's `roost.server`. The types are the client library's,
 * re-exported here so views import them from one place.
 */
import type { ServerApi } from '../../client/index.js'
import { session } from './session.js'

export type { CollectionBatch, ServerApi, ServerStats } from '../../client/index.js'

export function serverApi(): ServerApi {
  const current = session.value
  if (!current) throw new Error('Not signed in')
  return current.roost.server
}
