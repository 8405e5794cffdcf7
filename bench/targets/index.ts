import { startFeathers } from './feathers.js'
import { startRaw } from './raw.js'
import { startRoostInstances } from './roost-instances.js'
import { startRoost } from './roost.js'
import { backendOf, instancesOf, kindOf, variantOf, type Target, type TargetName } from './types.js'

export * from './types.js'

export interface StartOptions {
  /** Browser origins a Roost target allows (CORS): the pages of browser workloads. */
  origins?: string[]
  /** The checkout the `@baseline` targets run (--baseline). */
  baselineDir?: string
}

/** Starts a target on a fresh database of its backend. */
export function startTarget(name: TargetName, options: StartOptions = {}): Promise<Target> {
  const backend = backendOf(name)
  switch (kindOf(name)) {
    case 'roost':
      if (instancesOf(name) > 1) return startRoostInstances(name, backend, instancesOf(name), options.origins ?? [])
      return startRoost(name, backend, { origins: options.origins ?? [], variant: variantOf(name), baselineDir: options.baselineDir })
    case 'feathers':
      return startFeathers(name, backend)
    case 'raw':
      return startRaw(name, backend)
  }
}
