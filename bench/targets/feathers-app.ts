import { createServer } from 'node:http'
import { feathers, type HookContext, type NextFunction } from '@feathersjs/feathers'
import { KnexService, transaction } from '@feathersjs/knex'
import { bodyParser, errorHandler, koa, rest } from '@feathersjs/koa'
import socketio from '@feathersjs/socketio'
import knex, { type Knex } from 'knex'
import { knexConfig } from '../../src/storage/knex/connection.js'

/**
 * The "plain Feathers" target, run as its own process: a Feathers v5 app with
 * Koa, REST and socket.io and one `items` service, a stock @feathersjs/knex
 * KnexService, with no sync logic and no authentication. Every event goes to
 * every connection. A find is paginated (page and count) unless asked for
 * `$paginate=false`. Creating runs in @feathersjs/knex's transaction hooks, so
 * that an array is all or nothing like Roost's; `data` is kept as JSON text,
 * as Roost keeps it.
 *
 * Environment: PORT, and DATABASE_URL (postgres://… or sqlite:<file>).
 * knex is configured like Roost's (src/storage/knex/connection.ts: WAL, one
 * connection), without Roost's prepared-statement cache and background checkpoints.
 */

const PAGINATE = { default: 10, max: 1000 }

interface ItemRow {
  id: number
  data: string
  version: number
  updated_at: string
}

/** JSON text in the table, JSON values on the wire (what a resolver would do). */
const jsonData = async (context: HookContext, next: NextFunction) => {
  const encode = (item: Record<string, unknown>) =>
    item.data === undefined ? item : { ...item, data: JSON.stringify(item.data), updated_at: new Date().toISOString() }
  if (context.data !== undefined) context.data = Array.isArray(context.data) ? context.data.map(encode) : encode(context.data)
  await next()
  const decode = (row: ItemRow) => ({ ...row, data: JSON.parse(row.data) as unknown })
  const result = context.result as ItemRow | ItemRow[] | { data: ItemRow[] }
  context.result = Array.isArray(result) ? result.map(decode) : 'id' in result ? decode(result) : { ...result, data: result.data.map(decode) }
}

/**
 * `?$paginate=false`: a find without pagination, so without its count query
 * (Feathers' fastest find; `$limit` still applies). Feathers takes
 * `params.paginate` from a hook only, so this is the usual hook that lets a
 * client ask for it.
 */
const paginateParam = async (context: HookContext, next: NextFunction) => {
  const query = context.params.query as Record<string, unknown> | undefined
  if (query && '$paginate' in query) {
    const { $paginate, ...rest } = query
    context.params = { ...context.params, query: rest, ...($paginate === 'false' ? { paginate: false } : {}) }
  }
  await next()
}

async function createItemsTable(db: Knex) {
  if (await db.schema.hasTable('items')) return
  await db.schema.createTable('items', (table) => {
    table.increments('id')
    table.text('data').notNullable()
    table.integer('version').notNullable()
    table.string('updated_at', 32).notNullable()
  })
}

async function main() {
  const port = Number(process.env.PORT)
  // Stock knex and SQLite behaviour: none of Roost's own additions.
  const { config } = knexConfig(process.env.DATABASE_URL ?? '', process.cwd(), { tuned: false })
  const db = knex(config)
  await createItemsTable(db)

  const app = koa(feathers())
  app.use(errorHandler())
  app.use(bodyParser({ jsonLimit: '4mb' }))
  app.configure(rest())
  app.configure(socketio({ maxHttpBufferSize: 4 * 1024 * 1024 }))
  app.use('items', new KnexService<ItemRow>({ Model: db, name: 'items', paginate: PAGINATE, multi: ['create'] }), {
    methods: ['find', 'get', 'create', 'patch']
  })
  app.service('items').hooks({
    around: { all: [jsonData], find: [paginateParam] },
    before: { create: [transaction.start()] },
    after: { create: [transaction.end()] },
    error: { create: [transaction.rollback()] }
  })
  app.on('connection', (connection) => app.channel('everybody').join(connection))
  app.publish(() => app.channel('everybody'))

  const server = createServer(app.callback())
  await app.setup(server)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      server.closeAllConnections()
      void db.destroy().finally(() => process.exit(0))
    })
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
