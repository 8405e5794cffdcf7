import { startFeathers } from './feathers.js'
import { startRaw } from './raw.js'
import { startRoost } from './roost.js'
import { backendOf, kindOf, type Target, type TargetName } from './types.js'

export * from './types.js'

/** Starts a target on a fresh database of its backend. */
export function startTarget(name: TargetName): Promise<Target> {
  const backend = backendOf(name)
  switch (kindOf(name)) {
    case 'roost':
      return startRoost(backend)
    case 'feathers':
      return startFeathers(backend)
    case 'raw':
      return startRaw(backend)
  }
}
