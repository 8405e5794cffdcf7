import { obj, type FuzzCall } from './arbitraries.js'

/**
 * The fixed examples every fuzz run tries first: each finding of issue 12
 * that a hostile client could trigger, as a call. The generated calls then
 * look for more of their kind.
 */
const PROTOTYPE_IDS = ['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf', 'isPrototypeOf', '__defineGetter__']

export const ISSUE_EXAMPLES: Array<{ name: string; call: FuzzCall }> = [
  // Ids that are names of Object.prototype, as record ids and as collection ids (path segments).
  ...PROTOTYPE_IDS.flatMap((id) => [
    { name: `record id ${id} (get)`, call: { path: 'collections/{c}/records', method: 'get', id } as FuzzCall },
    { name: `record id ${id} (create)`, call: { path: 'collections/{c}/records', method: 'create', data: obj({ id, data: 1 }) } as FuzzCall },
    { name: `collection id ${id} in the path`, call: { path: 'collections/{c}/records', method: 'find', collection: id } as FuzzCall },
    { name: `collection id ${id} (get)`, call: { path: 'collections', method: 'get', id } as FuzzCall },
    { name: `member id ${id}`, call: { path: 'collections/{c}/members', method: 'remove', id } as FuzzCall }
  ]),
  // Non-string e-mail or password in sign-up and sign-in, and sign-in without a strategy.
  { name: 'sign-up with a numeric e-mail', call: { path: 'users', method: 'create', data: obj({ email: 5, password: 'a long password' }) } },
  { name: 'sign-up with an object e-mail', call: { path: 'users', method: 'create', data: obj({ email: obj({ $ne: null }), password: 'a long password' }) } },
  { name: 'sign-up with an array password', call: { path: 'users', method: 'create', data: obj({ email: 'fuzz-signup@example.com', password: ['a', 'b'] }) } },
  { name: 'sign-up with a numeric password', call: { path: 'users', method: 'create', data: obj({ email: 'fuzz-signup@example.com', password: 12345678 }) } },
  { name: 'sign-in with a numeric e-mail', call: { path: 'authentication', method: 'create', data: obj({ strategy: 'local', email: 5, password: 'a long password' }) } },
  { name: 'sign-in with an object password', call: { path: 'authentication', method: 'create', data: obj({ strategy: 'local', email: 'a@example.com', password: obj({ a: 1 }) }) } },
  { name: 'sign-in with an array e-mail', call: { path: 'authentication', method: 'create', data: obj({ strategy: 'local', email: ['a@example.com'], password: 'x' }) } },
  { name: 'sign-in without a strategy', call: { path: 'authentication', method: 'create', data: obj({ email: 'a@example.com', password: 'a long password' }) } },
  { name: 'sign-in with a numeric strategy', call: { path: 'authentication', method: 'create', data: obj({ strategy: 1, accessToken: 5 }) } },
  // Deeply nested JSON, in a body and in a query.
  { name: 'record data 10,000 levels deep', call: { path: 'collections/{c}/records', method: 'create', data: obj({ data: { deep: 10_000 } }) } },
  { name: 'a body 10,000 levels deep', call: { path: 'collections', method: 'create', data: { deep: 10_000 } } },
  { name: 'a query 10,000 levels deep', call: { path: 'collections/{c}/records', method: 'find', query: obj({ id: { deep: 10_000 } }) } },
  { name: 'an id 10,000 levels deep', call: { path: 'collections/{c}/records', method: 'get', id: { deep: 10_000 } } },
  // Huge $skip.
  { name: '$skip=1e20 (records)', call: { path: 'collections/{c}/records', method: 'find', query: obj({ $skip: '1e20' }) } },
  { name: '$skip=2^63 (collections)', call: { path: 'collections', method: 'find', query: obj({ $skip: '9223372036854775808' }) } },
  { name: '$skip as a raw huge number (members)', call: { path: 'collections/{c}/members', method: 'find', query: obj({ $skip: { raw: '9223372036854775808' } }) } },
  { name: '$limit=1e400 (invitations)', call: { path: 'invitations', method: 'find', query: obj({ $limit: { raw: '1e400' } }) } },
  // NUL (PostgreSQL) in a collection name, a query value, an id, a key.
  { name: 'NUL in a new collection name', call: { path: 'collections', method: 'create', data: obj({ name: 'a\u0000b' }) } },
  { name: 'NUL in a collection rename', call: { path: 'collections', method: 'patch', id: '{c}', data: obj({ name: '\u0000' }) } },
  { name: 'NUL in a query value', call: { path: 'collections/{c}/records', method: 'find', query: obj({ updatedBy: 'a\u0000' }) } },
  { name: 'NUL in a collection id', call: { path: 'collections/{c}/records', method: 'find', collection: 'a\u0000b' } },
  { name: 'NUL in a record id', call: { path: 'collections/{c}/records', method: 'get', id: 'r1\u0000' } },
  { name: 'NUL in a sign-in e-mail', call: { path: 'authentication', method: 'create', data: obj({ strategy: 'local', email: 'a\u0000@example.com', password: 'x' }) } },
  { name: 'NUL in a sign-up e-mail', call: { path: 'users', method: 'create', data: obj({ email: 'a\u0000@example.com', password: 'a long password' }) } },
  { name: 'a lone surrogate in a collection name', call: { path: 'collections', method: 'create', data: obj({ name: '\ud800' }) } },
  // A "__proto__" key in record data (REST refused it, socket.io stored it).
  { name: '__proto__ in record data', call: { path: 'collections/{c}/records', method: 'create', data: obj({ data: obj([['__proto__', obj({ admin: true })]]) }) } },
  { name: '__proto__ in a query', call: { path: 'collections/{c}/records', method: 'find', query: obj([['__proto__', obj({ deleted: 'true' })]]) } },
  { name: '__proto__ in a commit since', call: { path: 'batches', method: 'commit', data: obj({ id: 'b1', since: obj([['__proto__', '0.x']]) }) } },
  // Query operators in odd places.
  { name: '$where in a record query', call: { path: 'collections/{c}/records', method: 'find', query: obj({ $where: '1=1' }) } },
  { name: '$or nested in $or', call: { path: 'collections/{c}/records', method: 'find', query: obj({ $or: [obj({ $or: [obj({ id: 'r1' })] })] }) } },
  { name: '$limit as an object', call: { path: 'collections', method: 'find', query: obj({ $limit: obj({ $gt: 1 }) }) } },
  { name: 'an array where an id is expected', call: { path: 'collections/{c}/records', method: 'find', query: obj({ id: ['r1', 'r2'] }) } },
  { name: 'a lock token far beyond 2^53', call: { path: 'batches', method: 'commit', data: obj({ id: 'b1', lockTokens: obj({ '{c}': 1e20 }) }) } },
  { name: 'a lock acquire with a huge wait', call: { path: 'collections/{c}/locks', method: 'create', data: obj({ holder: 'other', waitSeconds: 1e300 }) } },
  { name: 'an invitation e-mail that is an object', call: { path: 'invitations', method: 'create', data: obj({ collectionId: '{c}', role: 'reader', email: obj({ a: 1 }) }) } }
]
