import { startServer } from './test/helpers/server.js'
const backends = await import('./test/helpers/backends.js')
void backends
const { mkdtempSync } = await import('node:fs')
const sqlite = { name: 'sqlite' as const, async create() { return { databaseUrl: '', dataDir: mkdtempSync('/tmp/roost-dev-'), async cleanup() {} } } }
const server = await startServer(sqlite)
console.log(server.url)
