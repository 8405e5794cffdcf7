import { RouteNode, Router } from '@feathersjs/transport-commons/lib/routing/router.js'
import type { Application } from './declarations.js'

/**
 * Feathers' router keeps each node's children in a plain object and looks a
 * path segment up with `children[segment]`, so a segment that names a
 * property of Object.prototype (`constructor`, `toString`, `__proto__`, …)
 * finds that property instead of nothing, and routing throws (`child.lookup
 * is not a function`): a 500 over REST, a raw error over socket.io, for
 * `GET /collections/c/records/constructor` as for `collections/constructor/records`.
 * Such names are valid Roost ids, so they must route like any other.
 *
 * This node keeps its children in an object without a prototype, so a
 * lookup sees only the routes that were inserted. It creates its children
 * (and placeholders) as nodes of its own kind before Feathers' `insert`
 * would create plain ones; lookup and remove are Feathers' own.
 */
export class OwnKeysRouteNode<T = unknown> extends RouteNode<T> {
  constructor(name: string, depth: number) {
    super(name, depth)
    this.children = Object.create(null) as RouteNode['children']
  }

  override insert(path: string[], data: T): RouteNode<T> {
    const segment = path[this.depth]
    if (segment !== undefined) {
      if (segment.startsWith(':')) {
        const name = segment.substring(1)
        if (!this.placeholders.some((placeholder) => placeholder.name === name)) {
          this.placeholders.push(new OwnKeysRouteNode(name, this.depth + 1))
        }
      } else if (!Object.hasOwn(this.children, segment)) {
        this.children[segment] = new OwnKeysRouteNode(segment, this.depth + 1)
      }
    }
    return super.insert(path, data)
  }
}

/** Swaps the app's route tree for one of OwnKeysRouteNode. Configure before any service is registered. */
export const ownKeysRouting = (app: Application) => {
  const routes = (app as unknown as { routes?: Router }).routes
  if (routes === undefined) throw new Error('ownKeysRouting: configure it after the transport (koa), before the services')
  if (routes.root.hasChildren) throw new Error('ownKeysRouting: configure it before any service is registered')
  routes.root = new OwnKeysRouteNode('', 0)
}
