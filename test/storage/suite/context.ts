import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll } from 'vitest'
import type { Storage } from '../../../src/storage/index.js'
import type { StoredUser } from '../../../src/storage/types.js'
import type { TestStorage } from '../../helpers/storage.js'

/** What the suite may rely on about the storage under test. */
export interface Capabilities {
  /** What `storage.backend` says. */
  backend: 'sqlite' | 'postgres' | 'mongodb'
  /** Whether the speed-ups are on (createStorage's `shortcuts`): the suite runs with and without them. */
  shortcuts: boolean
}

/** Makes a storage on a fresh, migrated database, dropped by its cleanup. */
export type StorageFactory = () => Promise<TestStorage>

/** What every concern's tests are registered with. */
export interface SuiteContext {
  factory: StorageFactory
  capabilities: Capabilities
}

/** The storage of one concern's tests, set once the describe's beforeAll has run. */
export interface Fixture {
  storage: Storage
  /** Another storage instance on the same database: a second server, or a restart. */
  open(): Storage
  /** A user made at the start, for tests that need an owner and nothing more. */
  owner: StoredUser
}

/**
 * One fresh database for the describe it is called in (each concern gets its
 * own, so no concern depends on what another left behind), closed and
 * dropped after it.
 */
export function useStorage({ factory }: SuiteContext): Fixture {
  let test: TestStorage | undefined
  const fixture = {
    open: () => test!.open()
  } as Fixture
  beforeAll(async () => {
    test = await factory()
    fixture.storage = test.storage
    fixture.owner = await test.storage.createUser({ email: `owner-${randomUUID()}@example.com`, password: 'hash' }, new Date(Date.UTC(2026, 0, 1)).toISOString())
  })
  afterAll(async () => {
    await test?.cleanup()
  })
  return fixture
}
