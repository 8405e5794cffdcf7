import { signal } from '@preact/signals'

/** The page's places, from the URL's hash (#/c/<id>/members …): links work, Back works, a reload stays put. */
export type Route =
  | { name: 'signin' }
  | { name: 'signup' }
  | { name: 'collections' }
  | { name: 'collection'; id: string; tab: 'records' | 'members' | 'locks' }
  | { name: 'invitations' }
  | { name: 'account' }
  | { name: 'operator' }
  | { name: 'not-found'; path: string }

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/'
  const parts = path.split('/').filter(Boolean).map((part) => decodeURIComponent(part))
  const [first, second, third] = parts
  if (parts.length === 0) return { name: 'collections' }
  if (parts.length === 1 && (first === 'signin' || first === 'signup' || first === 'invitations' || first === 'account' || first === 'operator')) return { name: first }
  if (first === 'c' && second !== undefined && parts.length <= 3) {
    if (third === undefined || third === 'records') return { name: 'collection', id: second, tab: 'records' }
    if (third === 'members' || third === 'locks') return { name: 'collection', id: second, tab: third }
  }
  return { name: 'not-found', path }
}

export function hrefOf(route: Route): string {
  switch (route.name) {
    case 'collections':
      return '#/'
    case 'collection':
      return `#/c/${encodeURIComponent(route.id)}${route.tab === 'records' ? '' : `/${route.tab}`}`
    case 'not-found':
      return `#${route.path}`
    default:
      return `#/${route.name}`
  }
}

export const route = signal<Route>(parseRoute(location.hash))

addEventListener('hashchange', () => {
  route.value = parseRoute(location.hash)
})

export function navigate(to: Route): void {
  const href = hrefOf(to)
  if (location.hash === href) route.value = to
  else location.hash = href
}
