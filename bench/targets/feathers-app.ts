import { createServer } from 'node:http'
import { NotFound } from '@feathersjs/errors'
import { feathers, type HookContext, type Id, type NextFunction, type Paginated, type Params } from '@feathersjs/feathers'
import { bodyParser, errorHandler, koa, rest } from '@feathersjs/koa'
import socketio from '@feathersjs/socketio'
import knex, { type Knex } from 'knex'
import { knexConfig } from '../../src/storage/knex/connection.js'

/**
 * The "plain Feathers" target, run as its own process: a Feathers v5 app with
 * Koa, REST and socket.io and one `items` service on knex, with no sync logic
 * and no authentication. Every event goes to every connection.
 *
 * @feathersjs/knex is not installed in this project, so ItemService is a
 * hand-written stand-in that issues the same queries as its KnexService:
 * get = one SELECT; find = the page plus a count over the same query;
 * create = INSERT then SELECT per item (an array is created item by item);
 * patch = SELECT the id, UPDATE, SELECT again. Creating runs in one
 * transaction (what @feathersjs/knex's transaction hooks give), so that an
 * array is all or nothing like Roost's.
 *
 * Environment: PORT, and DATABASE_URL (postgres://… or sqlite:<file>).
 * knex is configured like Roost's (src/storage/knex/connection.ts: WAL, one
 * connection), without Roost's prepared-statement cache.
 */
interface ItemRow {
  id: number
  data: string
  version: number
  updated_at: string
}

export interface Item {
  id: number
  data: unknown
  version: number
  updatedAt: string
}

interface ItemData {
  data: unknown
  version?: number
}

interface ItemQuery {
  id?: { $gt?: string | number }
  $sort?: Record<string, string | number>
  $limit?: string | number
  $skip?: string | number
}

type ItemParams = Params<ItemQuery> & { trx?: Knex.Transaction }

const SORTABLE = new Set(['id', 'version', 'updated_at'])
const PAGINATE = { default: 10, max: 1000 }

const fromRow = (row: ItemRow): Item => ({ id: Number(row.id), data: JSON.parse(row.data), version: row.version, updatedAt: row.updated_at })

class ItemService {
  constructor(private readonly db: Knex) {}

  private table(params: ItemParams) {
    return (params.trx ?? this.db)<ItemRow>('items')
  }

  private query(params: ItemParams) {
    const query = params.query ?? {}
    const builder = this.table(params).select('items.*')
    if (query.id?.$gt !== undefined) builder.where('items.id', '>', Number(query.id.$gt))
    for (const [field, direction] of Object.entries(query.$sort ?? {})) {
      if (SORTABLE.has(field)) builder.orderBy(field, Number(direction) === 1 ? 'asc' : 'desc')
    }
    return builder
  }

  async find(params: ItemParams): Promise<Paginated<Item>> {
    const limit = Math.min(Number(params.query?.$limit ?? PAGINATE.default), PAGINATE.max)
    const skip = Number(params.query?.$skip ?? 0)
    const builder = this.query(params)
    const count = (params.trx ?? this.db).count('* as total').with('subquery', builder.clone().clearOrder()).from('subquery')
    const rows = limit === 0 ? [] : await builder.limit(limit).offset(skip)
    const [{ total }] = (await count) as Array<{ total: number | string }>
    return { total: Number(total), limit, skip, data: rows.map(fromRow) }
  }

  async get(id: Id, params: ItemParams): Promise<Item> {
    return this._get(id, params)
  }

  async create(data: ItemData, params: ItemParams): Promise<Item>
  async create(data: ItemData[], params: ItemParams): Promise<Item[]>
  async create(data: ItemData | ItemData[], params: ItemParams): Promise<Item | Item[]> {
    return this._create(data, params)
  }

  // Like KnexService, the public methods (which Feathers wraps in hooks) call hook-less _methods.

  async _get(id: Id, params: ItemParams): Promise<Item> {
    const rows = await this.table(params).select('items.*').where('items.id', Number(id))
    if (rows.length !== 1) throw new NotFound(`No record found for id '${id}'`)
    return fromRow(rows[0])
  }

  async _create(data: ItemData | ItemData[], params: ItemParams): Promise<Item | Item[]> {
    if (Array.isArray(data)) return Promise.all(data.map((item) => this._create(item, params) as Promise<Item>))
    const row = { data: JSON.stringify(data.data), version: data.version ?? 1, updated_at: new Date().toISOString() }
    const [inserted] = await this.table(params).insert(row).returning('id')
    return this._get(typeof inserted === 'object' ? inserted.id : inserted, params)
  }

  async patch(id: Id, data: Partial<ItemData>, params: ItemParams): Promise<Item> {
    const ids = (await this.table(params).select('items.id').where('items.id', Number(id))).map((row) => row.id)
    const changes: Partial<ItemRow> = { updated_at: new Date().toISOString() }
    if (data.data !== undefined) changes.data = JSON.stringify(data.data)
    if (data.version !== undefined) changes.version = data.version
    await this.table(params).whereIn('items.id', ids).update(changes)
    const rows = await this.table(params).select('items.*').whereIn('items.id', ids)
    if (rows.length !== 1) throw new NotFound(`No record found for id '${id}'`)
    return fromRow(rows[0])
  }
}

/** Like @feathersjs/knex's transaction.start()/end() hooks around the call. */
const inTransaction = (db: Knex) => async (context: HookContext, next: NextFunction) => {
  await db.transaction(async (trx) => {
    context.params = { ...context.params, trx }
    await next()
  })
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
  // Stock knex behaviour: no prepared-statement cache (Roost's own addition).
  const { config } = knexConfig(process.env.DATABASE_URL ?? '', process.cwd(), { cacheStatements: false })
  const db = knex(config)
  await createItemsTable(db)

  const app = koa(feathers())
  app.use(errorHandler())
  app.use(bodyParser({ jsonLimit: '4mb' }))
  app.configure(rest())
  app.configure(socketio({ maxHttpBufferSize: 4 * 1024 * 1024 }))
  app.use('items', new ItemService(db), { methods: ['find', 'get', 'create', 'patch'] })
  app.service('items').hooks({ around: { create: [inTransaction(db)] } })
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
