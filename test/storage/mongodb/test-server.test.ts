import { afterEach, describe, expect, it, vi } from 'vitest'
import { mongoServerProblem, startMongo, withDatabase } from '../../helpers/mongodb.js'

/** How the MongoDB tests find a server (test/helpers/mongodb.ts): its reasons to skip, and no download ever. */

afterEach(() => {
  vi.unstubAllEnvs()
})

describe('MongoDB test server', () => {
  it('names why there is none when neither TEST_MONGODB_URL nor MONGOMS_SYSTEM_BINARY is given', () => {
    vi.stubEnv('TEST_MONGODB_URL', '')
    vi.stubEnv('MONGOMS_SYSTEM_BINARY', '')
    expect(mongoServerProblem()).toMatch(/TEST_MONGODB_URL.*MONGOMS_SYSTEM_BINARY/)
  })

  it('names a missing binary', () => {
    vi.stubEnv('TEST_MONGODB_URL', '')
    vi.stubEnv('MONGOMS_SYSTEM_BINARY', '/nonexistent/mongod')
    expect(mongoServerProblem()).toMatch(/\/nonexistent\/mongod.*does not exist/)
  })

  it('takes a given URL as usable', () => {
    vi.stubEnv('TEST_MONGODB_URL', 'mongodb://db.example:27017/?replicaSet=rs0')
    expect(mongoServerProblem()).toBeUndefined()
  })

  it('fails at once, downloading nothing, when the binary is not a mongod', async () => {
    vi.stubEnv('TEST_MONGODB_URL', '')
    vi.stubEnv('MONGOMS_SYSTEM_BINARY', '/bin/false')
    const started = Date.now()
    await expect(startMongo()).rejects.toThrow()
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('puts the test database into the URL, keeping hosts and options', () => {
    expect(withDatabase('mongodb://127.0.0.1:41234/?replicaSet=testset', 'roost_test_1')).toBe('mongodb://127.0.0.1:41234/roost_test_1?replicaSet=testset')
    expect(withDatabase('mongodb://a:1,b:2/old?replicaSet=rs0&w=majority', 'x')).toBe('mongodb://a:1,b:2/x?replicaSet=rs0&w=majority')
    expect(withDatabase('mongodb://localhost:27017', 'x')).toBe('mongodb://localhost:27017/x')
  })
})
