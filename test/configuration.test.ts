import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { checkConfiguration } from '../src/configuration.js'

/** config/default.json, as shipped: a valid configuration to break one setting at a time. */
const defaults = (): Record<string, any> => JSON.parse(readFileSync(new URL('../config/default.json', import.meta.url), 'utf8'))

/** The defaults with one setting (a dotted path) replaced, or removed when value is undefined. */
function withSetting(setting: string, value: unknown): Record<string, any> {
  const config = defaults()
  const keys = setting.split('.')
  const parent = keys.slice(0, -1).reduce((object, key) => object[key], config)
  if (value === undefined) delete parent[keys.at(-1)!]
  else parent[keys.at(-1)!] = value
  return config
}

const escape = (text: string) => text.replace(/[.$]/g, '\\$&')

describe('checkConfiguration', () => {
  it('accepts the shipped defaults and the test overrides', () => {
    expect(() => checkConfiguration(defaults())).not.toThrow()
    const test = JSON.parse(readFileSync(new URL('../config/test.json', import.meta.url), 'utf8'))
    const merged = { ...defaults(), ...test, authentication: { ...defaults().authentication, local: { ...defaults().authentication.local, ...test.authentication.local } } }
    expect(() => checkConfiguration(merged)).not.toThrow()
  })

  const wrong: Array<[string, unknown]> = [
    ['port', 'abc'],
    ['port', '3030'],
    ['port', -1],
    ['port', 70000],
    ['port', 80.5],
    ['host', ''],
    ['dataDir', ''],
    ['databaseUrl', null],
    ['databasePoolSize', 0],
    ['databasePoolSize', 2.5],
    ['databasePoolSize', '10'],
    ['databaseReadUrl', 'sqlite:replica.sqlite'],
    ['databaseReadUrl', 'mongodb://127.0.0.1/roost'],
    ['readReplica.maxWaitMilliseconds', -1],
    ['readReplica.maxWaitMilliseconds', 100_000],
    ['readReplica.maxWaitMilliseconds', 2.5],
    ['origins', 'http://localhost:3030'],
    ['logLevel', 'loud'],
    ['signup', 'yes'],
    ['paginate.default', 0],
    ['paginate.max', -10],
    ['limits.recordBytes', -1],
    ['limits.recordBytes', 0],
    ['limits.recordBytes', '1mb'],
    ['limits.requestBytes', -4096],
    ['limits.requestBytes', 100],
    ['limits.changesPerPage', 0],
    ['limits.changesPerPage', 1_000_000],
    ['authentication.secret', 42],
    ['authentication.local.memoryCost', 4],
    ['authentication.local.timeCost', 0],
    ['trustProxy', 'yes'],
    ['operators', 'ada@example.com'],
    ['rateLimits.signIn.failuresPerAddressAndIp', 0],
    ['rateLimits.signUp.perIp', 0],
    ['idempotency.leaseSeconds', 0],
    ['idempotency.leaseSeconds', 3601],
    ['idempotency.waitSeconds', -1],
    ['idempotency.waitSeconds', 301],
    ['rateLimits.writes.perUser', 0],
    ['rateLimits.writes.perIp', 1.5],
    ['rateLimits.writes.windowSeconds', 0],
    ['rateLimits.redisUrl', 'http://127.0.0.1:6379'],
    ['metrics.token', 42],
    ['metrics.token', 'has a space'],
    ['metrics', 'secret-token'],
    ['sync.url', 'http://127.0.0.1:6379'],
    ['sync.url', 42],
    ['sync.url', 'nats:// 127.0.0.1'],
    ['sync.key', '']
  ]

  for (const [setting, value] of wrong) {
    it(`rejects ${setting} = ${JSON.stringify(value)} with an Error naming the setting`, () => {
      expect(() => checkConfiguration(withSetting(setting, value))).toThrow(
        new RegExp(`^Invalid configuration: .*\\b${escape(setting)} `)
      )
    })
  }

  it('rejects an operators entry that is not an e-mail address, naming it', () => {
    expect(() => checkConfiguration(withSetting('operators', ['ada@example.com', 'not an address']))).toThrow(/^Invalid configuration: operators\.1 /)
  })

  it('accepts metrics.token empty (no /metrics) or a token without spaces', () => {
    expect(() => checkConfiguration(withSetting('metrics.token', ''))).not.toThrow()
    expect(() => checkConfiguration(withSetting('metrics.token', 'Zk3-9_x.long~token'))).not.toThrow()
  })

  it('takes metrics.token from ROOST_METRICS_TOKEN', () => {
    const variables = JSON.parse(readFileSync(new URL('../config/custom-environment-variables.json', import.meta.url), 'utf8'))
    expect(variables.metrics).toEqual({ token: 'ROOST_METRICS_TOKEN' })
  })

  it('accepts sync.url empty (one instance), a redis:// or a nats:// (tls://) address, and takes it from SYNC_URL', () => {
    expect(() => checkConfiguration(withSetting('sync.url', ''))).not.toThrow()
    expect(() => checkConfiguration(withSetting('sync.url', 'redis://127.0.0.1:6379/0'))).not.toThrow()
    expect(() => checkConfiguration(withSetting('sync.url', 'nats://roost:secret@nats.internal:4222'))).not.toThrow()
    expect(() => checkConfiguration(withSetting('sync.url', 'tls://nats.internal:4222'))).not.toThrow()
    const variables = JSON.parse(readFileSync(new URL('../config/custom-environment-variables.json', import.meta.url), 'utf8'))
    expect(variables.sync).toEqual({ url: 'SYNC_URL' })
  })

  it('rejects a sync.key that is no plain NATS subject when sync.url is NATS, naming it (a Redis channel may be anything)', () => {
    for (const key of ['roost.>', 'roost.*.x', 'has space', 'trailing.']) {
      const config = withSetting('sync.url', 'nats://127.0.0.1:4222')
      config.sync.key = key
      expect(() => checkConfiguration(config)).toThrow(`Invalid configuration: sync.key (${JSON.stringify(key)}) is not a NATS subject`)
      expect(() => checkConfiguration({ ...config, sync: { url: 'redis://127.0.0.1:6379', key } })).not.toThrow()
    }
    expect(() => checkConfiguration({ ...withSetting('sync.url', 'tls://nats.internal'), sync: { url: 'tls://nats.internal', key: 'roost.eu-1' } })).not.toThrow()
  })

  it('takes the write limits and the counters\' Redis from the environment', () => {
    expect(() => checkConfiguration(withSetting('rateLimits.redisUrl', 'rediss://user:pw@redis.internal:6380/2'))).not.toThrow()
    const variables = JSON.parse(readFileSync(new URL('../config/custom-environment-variables.json', import.meta.url), 'utf8'))
    expect(variables.rateLimits).toEqual({
      writes: {
        perUser: { __name: 'ROOST_WRITES_PER_USER', __format: 'number' },
        perIp: { __name: 'ROOST_WRITES_PER_IP', __format: 'number' },
        windowSeconds: { __name: 'ROOST_WRITES_WINDOW_SECONDS', __format: 'number' }
      },
      redisUrl: 'RATE_LIMIT_REDIS_URL'
    })
  })

  it('rejects a missing setting, naming it', () => {
    expect(() => checkConfiguration(withSetting('limits', undefined))).toThrow(/^Invalid configuration: .*\blimits\b/)
    expect(() => checkConfiguration(withSetting('limits.recordBytes', undefined))).toThrow(/^Invalid configuration: .*\blimits\b.*recordBytes/)
    expect(() => checkConfiguration(withSetting('authentication.local.memoryCost', undefined))).toThrow(/memoryCost/)
  })

  it('names every wrong setting at once', () => {
    const config = withSetting('port', 'abc')
    config.limits.recordBytes = -1
    config.logLevel = 'loud'
    let message = ''
    try {
      checkConfiguration(config)
    } catch (error) {
      expect(error).toBeInstanceOf(Error)
      message = (error as Error).message
    }
    expect(message).toMatch(/\bport must be integer/)
    expect(message).toMatch(/\blimits\.recordBytes must be >= 1/)
    expect(message).toMatch(/\blogLevel /)
  })

  it('createApp checks the configuration before it touches the data folder or a database', () => {
    const dataDir = path.join(tmpdir(), `roost-never-created-${process.pid}-${Date.now()}`)
    expect(() => createApp({ dataDir, limits: { recordBytes: -5 } })).toThrow(/limits\.recordBytes must be >= 1/)
    expect(() => createApp({ dataDir, port: -1 })).toThrow(/\bport must be >= 0/)
    expect(() => createApp({ dataDir, paginate: { max: 0 } })).toThrow(/paginate\.max/)
    expect(existsSync(dataDir)).toBe(false)
  })
})
