import type { HookContext, NextFunction } from '../../declarations.js'
import type { ChangeService, StoredChangesPage } from './changes.class.js'

/**
 * REST answers a feed page with its JSON written straight from the stored
 * JSON text of each record's data (StoredChange), not parsed and serialised
 * again: for the bulk read of sync that was about a third of the server's
 * work per record. The body is the JSON of find's result, field for field and in
 * the same order (test/services/changes.json.test.ts); socket.io and internal
 * callers get find's parsed page as before.
 *
 * The innermost around hook of `find`, after authentication, validation and
 * authorization. For REST calls it answers in the service's stead: the body
 * is `context.dispatch` (the page's JSON text), which Feathers' REST
 * transport sends as it is; `context.result` stays unset.
 */
export async function restPageAsStoredJson(context: HookContext<ChangeService>, next: NextFunction): Promise<void> {
  if (context.params.provider !== 'rest' || context.http === undefined) return next()
  const page = await context.service.storedPage(context.params)
  context.http.headers = { ...context.http.headers, 'Content-Type': 'application/json; charset=utf-8' }
  // A string body, which Koa sends as it is (typed as find's result, which the REST body needs not be).
  ;(context as HookContext).dispatch = pageJson(page)
}

/** The page's JSON text: what JSON.stringify of find's result gives, written without parsing any record's data. */
export function pageJson({ changes, cursor, more }: StoredChangesPage): string {
  let json = '{"changes":['
  // Every change of a page is of one collection: its JSON is made once.
  let collectionId: string | undefined
  let collectionJson = ''
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]
    if (change.collectionId !== collectionId) collectionJson = JSON.stringify((collectionId = change.collectionId))
    const key = change.idempotencyKey === undefined ? '' : `,"idempotencyKey":${JSON.stringify(change.idempotencyKey)}`
    json +=
      `${i === 0 ? '' : ','}{"collectionId":${collectionJson},"id":${JSON.stringify(change.id)},"version":${change.version}` +
      `,"data":${change.dataJson ?? 'null'},"deleted":${change.deleted},"updatedAt":${JSON.stringify(change.updatedAt)}` +
      `,"updatedBy":${JSON.stringify(change.updatedBy)}${key},"seq":${change.seq}}`
  }
  return `${json}],"cursor":${JSON.stringify(cursor)},"more":${more}}`
}
