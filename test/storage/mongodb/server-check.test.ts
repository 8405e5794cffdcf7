import { describe, expect, it } from 'vitest'
import { checkServer } from '../../../src/storage/mongodb/server-check.js'

/** The start-up check of the MongoDB server (src/storage/mongodb/server-check.ts), on replies shaped as MongoDB's `hello` and `buildInfo`. */

const replicaSetMember = { isWritablePrimary: true, setName: 'rs0', hosts: ['localhost:27017'], ok: 1 }
const standalone = { isWritablePrimary: true, maxWireVersion: 21, ok: 1 }
const mongos = { isWritablePrimary: true, msg: 'isdbgrid', ok: 1 }
const build = (version: string) => ({ version, versionArray: [...version.split('.').map(Number), 0], ok: 1 })

describe('MongoDB server check', () => {
  it('accepts a replica set member or mongos, 6.0 or newer', () => {
    expect(() => checkServer(replicaSetMember, build('7.0.12'))).not.toThrow()
    expect(() => checkServer(replicaSetMember, build('6.0.0'))).not.toThrow()
    expect(() => checkServer(mongos, build('8.0.1'))).not.toThrow()
  })

  it('refuses a standalone server, saying why and how to run a single-node replica set', () => {
    let message = ''
    try {
      checkServer(standalone, build('7.0.12'))
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/standalone/)
    expect(message).toMatch(/transactions/)
    expect(message).toMatch(/replica set/)
    expect(message).toContain('--replSet rs0')
    expect(message).toContain('rs.initiate(')
    expect(message).toContain('replicaSet=rs0')
  })

  it('refuses a server older than 6.0, naming its version', () => {
    expect(() => checkServer(replicaSetMember, build('5.0.26'))).toThrow(/5\.0\.26.*6\.0 or newer/)
    expect(() => checkServer(replicaSetMember, build('4.4.29'))).toThrow(/too old/)
  })

  it('reads the version from its text when there is no versionArray, and refuses one it cannot read', () => {
    expect(() => checkServer(replicaSetMember, { version: '6.0.14' })).not.toThrow()
    expect(() => checkServer(replicaSetMember, { version: '5.3.1' })).toThrow(/too old/)
    expect(() => checkServer(replicaSetMember, {})).toThrow(/unknown version/)
  })
})
