import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesClient, keyEpochsClient, recordsClient } from '../src/client.js'
import { describeBackends } from './helpers/backends.js'
import { connect, failure, signedIn, type TestClient } from './helpers/clients.js'
import { startServer, type TestServer } from './helpers/server.js'

/**
 * Bad input, table-driven: every case is sent as a raw HTTP request (and,
 * where the transport allows it, as the same service call over socket.io).
 * Each must get its 4xx with a message that names the problem, must never be
 * a 500, and must leave the stored data exactly as it was.
 */

const RECORD_BYTES = 1000
const REQUEST_BYTES = 4096

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
type Query = { [key: string]: string | string[] | Query }

interface BadInput {
  description: string
  method: Method
  /** `{c}` stands for the fixture collection's id, `{epoch}` for its cursor epoch. */
  path: string
  query?: Query
  /** Sent as it is after the "?" (REST only). */
  rawQuery?: string
  /** Sent as JSON. */
  body?: unknown
  /** Sent as it is (REST only). */
  rawBody?: string | Uint8Array<ArrayBuffer>
  headers?: Record<string, string>
  status: number
  message: RegExp
  /** Cases that only make sense over HTTP (raw bodies, headers, request size). */
  restOnly?: boolean
  /** Cases that only make sense over socket.io (what a query string cannot carry). */
  socketOnly?: boolean
}

const long = (length: number) => 'a'.repeat(length)
/** An array nested `levels` deep around 1. */
const nested = (levels: number): unknown => {
  let value: unknown = 1
  for (let level = 0; level < levels; level++) value = [value]
  return value
}
/** An object nested `levels` deep: { a: { a: … '1' } }, as a query. */
const nestedQuery = (levels: number): Query => {
  let value: Query = { a: '1' }
  for (let level = 1; level < levels; level++) value = { a: value }
  return value
}
/** Key material of the right shapes: `k(n)` is n base64url characters. */
const k = (length: number) => 'A'.repeat(length)
const WRAPPED = { v: 1 as const, enc: k(43), c: k(64) }
const PASSPHRASE_WRAP = { v: 1 as const, kdf: 'argon2id' as const, salt: k(22), m: 65536, t: 3, p: 1, n: k(16), c: k(64) }
/** A key for the fixture's owner (`{me}`), at key version 1. */
const OWN_KEY = { userId: '{me}', keyVersion: 1, wrappedKey: WRAPPED }

/** An object with an own "__proto__" key, as JSON.parse (and so every JSON body) makes it. */
const withProtoKey = (json: string): unknown => JSON.parse(json)

const CASES: BadInput[] = [
  // Malformed bodies
  { description: 'malformed JSON body', method: 'POST', path: '/collections/{c}/records', rawBody: '{"data": ', status: 400, message: /not valid JSON/ },
  { description: 'malformed JSON in a collection patch', method: 'PATCH', path: '/collections/{c}', rawBody: "{name: 'x'}", status: 400, message: /not valid JSON/ },
  { description: 'a JSON string as the body', method: 'POST', path: '/collections/{c}/records', rawBody: '"just a string"', status: 400, message: /JSON|must be object/ },
  { description: 'a text/plain body', method: 'POST', path: '/collections/{c}/records', rawBody: 'data=1', headers: { 'content-type': 'text/plain' }, status: 400, message: /"data" must be object|content type/ },
  { description: 'a __proto__ field', method: 'POST', path: '/collections/{c}/records', rawBody: '{"data": 1, "__proto__": {"admin": true}}', status: 400, message: /"__proto__" key is not allowed anywhere in a request/ },
  { description: 'a gzip Content-Encoding on a plain body', method: 'POST', path: '/collections/{c}/records', rawBody: '{"data": 1}', headers: { 'content-encoding': 'gzip' }, status: 400, message: /does not match its Content-Encoding/ },
  { description: 'a brotli Content-Encoding on a plain body', method: 'POST', path: '/collections/{c}/records', rawBody: '{"data": 1}', headers: { 'content-encoding': 'br' }, status: 400, message: /does not match its Content-Encoding/ },
  { description: 'a truncated gzip body', method: 'POST', path: '/collections/{c}/records', rawBody: new Uint8Array(gzipSync('{"data": "truncated"}').subarray(0, 12)), headers: { 'content-encoding': 'gzip' }, status: 400, message: /does not match its Content-Encoding/ },
  { description: 'an unknown Content-Encoding', method: 'POST', path: '/collections/{c}/records', rawBody: '{"data": 1}', headers: { 'content-encoding': 'x-unknown' }, status: 400, message: /unsupported encoding/ },
  { description: 'an empty batch', method: 'POST', path: '/collections/{c}/records', body: [], status: 400, message: /must not be empty/ },

  // Wrong types and missing fields
  { description: 'record without data', method: 'POST', path: '/collections/{c}/records', body: { id: 'no-data' }, status: 400, message: /"data" is missing "data"/ },
  { description: 'update without data', method: 'PUT', path: '/collections/{c}/records/r1', body: { version: 2 }, status: 400, message: /"data" is missing "data"/ },
  { description: 'version as a string in the body', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 1, version: '2' }, status: 400, message: /"data\.version" must be integer/ },
  { description: 'version 0', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 1, version: 0 }, status: 400, message: /"data\.version" must be >= 1/ },
  { description: 'a fractional version', method: 'PATCH', path: '/collections/{c}/records/r1', body: { data: {}, version: 1.5 }, status: 400, message: /"data\.version" must be integer/ },
  { description: 'a version beyond 32 bits', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 1, version: 2 ** 31 }, status: 400, message: /"data\.version" must be <= 2147483647/ },
  { description: 'collection name as a number (patch)', method: 'PATCH', path: '/collections/{c}', body: { name: 5 }, status: 400, message: /"data\.name" must be string/ },
  { description: 'collection name as a number (create)', method: 'POST', path: '/collections', body: { name: 5 }, status: 400, message: /"data\.name" must be string/ },
  { description: 'an empty collection name', method: 'PATCH', path: '/collections/{c}', body: { name: '' }, status: 400, message: /"data\.name" must NOT have fewer than 1 characters/ },
  { description: 'a collection patch without a name', method: 'PATCH', path: '/collections/{c}', body: {}, status: 400, message: /is missing "name"/ },
  { description: 'record id as a number', method: 'POST', path: '/collections/{c}/records', body: { id: 5, data: 1 }, status: 400, message: /"data\.id" must be string/ },
  { description: 'collection id as a number', method: 'POST', path: '/collections', body: { id: 5 }, status: 400, message: /"data\.id" must be string/ },
  { description: 'patch data that is not an object', method: 'PATCH', path: '/collections/{c}/records/r1', body: { data: [1], version: 2 }, status: 400, message: /"data\.data" must be object/ },
  { description: 'a subscription for a collection id that is a number', method: 'POST', path: '/subscriptions', body: { collectionId: 7 }, status: 400, message: /"data\.collectionId" must be string/ },

  // Unknown fields
  { description: 'unknown field in a record', method: 'POST', path: '/collections/{c}/records', body: { data: 1, colour: 'red' }, status: 400, message: /unknown field "colour"/ },
  { description: 'unknown field in a record update', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 1, version: 2, deleted: true }, status: 400, message: /unknown field "deleted"/ },
  { description: 'unknown field in one record of a batch', method: 'POST', path: '/collections/{c}/records', body: [{ data: 1 }, { data: 2, seq: 9 }], status: 400, message: /unknown field "seq"/ },
  { description: 'unknown field in a collection patch', method: 'PATCH', path: '/collections/{c}', body: { name: 'x', ownerId: 'someone' }, status: 400, message: /unknown field "ownerId"/ },
  { description: 'unknown field in a new collection', method: 'POST', path: '/collections', body: { name: 'x', epoch: 'mine' }, status: 400, message: /unknown field "epoch"/ },

  // Invalid record ids, in the path …
  { description: 'record id of 129 characters in the path (get)', method: 'GET', path: `/collections/{c}/records/${long(129)}`, status: 400, message: /not a valid id/ },
  { description: 'record id of 129 characters in the path (update)', method: 'PUT', path: `/collections/{c}/records/${long(129)}`, body: { data: 1, version: 1 }, status: 400, message: /not a valid id/ },
  { description: 'record id with an encoded "/" in the path', method: 'GET', path: '/collections/{c}/records/a%2Fb', status: 400, message: /not a valid id/ },
  { description: 'record id with "%20" in the path', method: 'DELETE', path: '/collections/{c}/records/r1%20', query: { version: '2' }, status: 400, message: /not a valid id/ },
  { description: 'record id starting with "." in the path', method: 'PATCH', path: '/collections/{c}/records/.r1', body: { data: { a: 1 }, version: 2 }, status: 400, message: /not a valid id/ },
  { description: 'patch without a record id and a single object', method: 'PATCH', path: '/collections/{c}/records', body: { data: { a: 1 }, version: 2 }, status: 400, message: /patch without an id takes an array/ },
  { description: 'patch of several records without their versions', method: 'PATCH', path: '/collections/{c}/records', body: [{ id: 'r1', data: { a: 1 } }], status: 400, message: /"data\.0" is missing "version"/ },
  { description: 'remove without a record id and no versions', method: 'DELETE', path: '/collections/{c}/records', query: { version: '2' }, status: 400, message: /"query" is missing "versions"/ },
  { description: 'remove of several records with a version that is not a number', method: 'DELETE', path: '/collections/{c}/records', query: { 'versions[r1]': 'x' }, status: 400, message: /"query\.versions\.r1" must be integer/, restOnly: true },
  // … and in the body
  { description: 'record id of 129 characters in the body', method: 'POST', path: '/collections/{c}/records', body: { id: long(129), data: 1 }, status: 400, message: /"data\.id" must be an id of 1–128 characters/ },
  { description: 'record id containing "/" in the body', method: 'POST', path: '/collections/{c}/records', body: { id: 'a/b', data: 1 }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'record id containing a space in the body', method: 'POST', path: '/collections/{c}/records', body: { id: 'a b', data: 1 }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'record id "%20" in the body', method: 'POST', path: '/collections/{c}/records', body: { id: '%20', data: 1 }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'record id starting with "." in the body', method: 'POST', path: '/collections/{c}/records', body: { id: '.hidden', data: 1 }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'empty record id in the body', method: 'POST', path: '/collections/{c}/records', body: { id: '', data: 1 }, status: 400, message: /"data\.id" must/ },

  // Invalid collection ids
  { description: 'collection id starting with "." in the path (records)', method: 'GET', path: '/collections/.hidden/records', status: 400, message: /"collectionId" in the path is not a valid id/ },
  { description: 'collection id of 129 characters in the path (records)', method: 'POST', path: `/collections/${long(129)}/records`, body: { data: 1 }, status: 400, message: /"collectionId" in the path is not a valid id/ },
  { description: 'collection id with "%20" in the path (changes)', method: 'GET', path: '/collections/a%20b/changes', status: 400, message: /"collectionId" in the path is not a valid id/ },
  { description: 'collection id starting with "." (get)', method: 'GET', path: '/collections/.hidden', status: 400, message: /not a valid id/ },
  { description: 'collection id of 129 characters (patch)', method: 'PATCH', path: `/collections/${long(129)}`, body: { name: 'x' }, status: 400, message: /not a valid id/ },
  { description: 'new collection id with a "/"', method: 'POST', path: '/collections', body: { id: 'a/b' }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'subscription to an invalid collection id', method: 'POST', path: '/subscriptions', body: { collectionId: '.hidden' }, status: 400, message: /"data\.collectionId" must be an id/ },

  // Sizes
  { description: 'record data over limits.recordBytes', method: 'POST', path: '/collections/{c}/records', body: { id: 'huge', data: long(2000) }, status: 413, message: new RegExp(`record huge is 2002 bytes; the limit is ${RECORD_BYTES} bytes`) },
  { description: 'update data over limits.recordBytes', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: long(1500), version: 2 }, status: 413, message: new RegExp(`the limit is ${RECORD_BYTES} bytes`) },
  { description: 'one record of a batch over limits.recordBytes', method: 'POST', path: '/collections/{c}/records', body: [{ data: 1 }, { id: 'big2', data: long(1500) }], status: 413, message: new RegExp(`record big2 .*the limit is ${RECORD_BYTES} bytes`) },
  { description: 'a patch that would make the record too large', method: 'PATCH', path: '/collections/{c}/records/big', body: { data: { more: long(600) }, version: 1 }, status: 413, message: new RegExp(`after this patch; the limit is ${RECORD_BYTES}`) },
  { description: 'a gzip body that inflates past limits.requestBytes', method: 'POST', path: '/collections/{c}/records', rawBody: new Uint8Array(gzipSync(JSON.stringify({ data: ' '.repeat(100_000) }))), headers: { 'content-encoding': 'gzip' }, status: 413, message: /limits\.requestBytes/ },
  { description: 'a request body over limits.requestBytes', method: 'POST', path: '/collections/{c}/records', body: { data: long(REQUEST_BYTES + 100) }, status: 413, message: /over the server's limit \(limits\.requestBytes\)/, restOnly: true },

  // Missing things
  { description: 'records of an unknown collection', method: 'GET', path: '/collections/no-such-collection/records', status: 404, message: /Collection "no-such-collection" not found/ },
  { description: 'a write to an unknown collection', method: 'POST', path: '/collections/no-such-collection/records', body: { data: 1 }, status: 404, message: /Collection "no-such-collection" not found/ },
  { description: 'changes of an unknown collection', method: 'GET', path: '/collections/no-such-collection/changes', status: 404, message: /Collection "no-such-collection" not found/ },
  { description: 'an unknown collection', method: 'DELETE', path: '/collections/no-such-collection', status: 404, message: /Collection "no-such-collection" not found/ },
  { description: 'an unknown record', method: 'GET', path: '/collections/{c}/records/no-such-record', status: 404, message: /Record "no-such-record" not found/ },
  { description: 'a tombstone, read as a record', method: 'GET', path: '/collections/{c}/records/t1', status: 404, message: /Record "t1" not found/ },

  // Versions
  { description: 'update without a version', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 3 }, status: 428, message: /must name the version it is based on/ },
  { description: 'patch without a version', method: 'PATCH', path: '/collections/{c}/records/r1', body: { data: { x: 1 } }, status: 428, message: /must name the version it is based on/ },
  { description: 'remove without a version', method: 'DELETE', path: '/collections/{c}/records/r1', status: 428, message: /must name the version it is based on/ },
  { description: 'a stale version in the body', method: 'PUT', path: '/collections/{c}/records/r1', body: { data: 3, version: 1 }, status: 409, message: /changed since the version/ },
  { description: 'a stale version in the query', method: 'DELETE', path: '/collections/{c}/records/r1', query: { version: '1' }, status: 409, message: /changed since the version/ },
  { description: 'a stale If-Match', method: 'PATCH', path: '/collections/{c}/records/r1', headers: { 'if-match': '"1"' }, body: { data: { x: 1 } }, status: 409, message: /changed since the version/, restOnly: true },
  { description: 'an If-Match that is no ETag', method: 'PUT', path: '/collections/{c}/records/r1', headers: { 'if-match': 'W/"2", *' }, body: { data: 3 }, status: 400, message: /If-Match must be one ETag/, restOnly: true },
  { description: 'body and query naming different versions', method: 'PUT', path: '/collections/{c}/records/r1', query: { version: '1' }, body: { data: 3, version: 2 }, status: 400, message: /name different versions/ },
  { description: 'a version in the query that is not a number', method: 'DELETE', path: '/collections/{c}/records/r1', query: { version: 'latest' }, status: 400, message: /"query\.version" must be integer/ },
  { description: 'creating an id that exists', method: 'POST', path: '/collections/{c}/records', body: { id: 'r1', data: 'again' }, status: 409, message: /already exists/ },
  { description: 'a batch in which one create conflicts', method: 'POST', path: '/collections/{c}/records', body: [{ id: 'fresh', data: 1 }, { id: 'r1', data: 2 }], status: 409, message: /1 records conflict; nothing was written/ },
  { description: 'an update of a tombstone', method: 'PUT', path: '/collections/{c}/records/t1', body: { data: 1, version: 2 }, status: 409, message: /has been deleted/ },
  { description: 'a new collection with an id in use', method: 'POST', path: '/collections', body: { id: '{c}' }, status: 409, message: /already exists/ },

  // The change feed
  { description: 'a cursor that is garbage', method: 'GET', path: '/collections/{c}/changes', query: { since: 'garbage' }, status: 400, message: /"query\.since" is not a cursor/ },
  { description: 'a cursor that is too long', method: 'GET', path: '/collections/{c}/changes', query: { since: long(65) }, status: 400, message: /"query\.since" must NOT have more than 64 characters/ },
  { description: 'a cursor from the future', method: 'GET', path: '/collections/{c}/changes', query: { since: '999999.{epoch}' }, status: 410, message: /pull again from the beginning/ },
  { description: 'a cursor of another epoch', method: 'GET', path: '/collections/{c}/changes', query: { since: '1.other' }, status: 410, message: /pull again from the beginning/ },
  { description: 'changes limit=0', method: 'GET', path: '/collections/{c}/changes', query: { limit: '0' }, status: 400, message: /"query\.limit" must be >= 1/ },
  { description: 'changes limit=5000', method: 'GET', path: '/collections/{c}/changes', query: { limit: '5000' }, status: 400, message: /"query\.limit" must be <= 1000/ },
  { description: 'changes limit that is not a number', method: 'GET', path: '/collections/{c}/changes', query: { limit: 'all' }, status: 400, message: /"query\.limit" must be integer/ },

  // Queries
  { description: '$limit=-1 on records', method: 'GET', path: '/collections/{c}/records', query: { $limit: '-1' }, status: 400, message: /"query\.\$limit" must be >= 0/ },
  { description: '$limit=-1 on collections', method: 'GET', path: '/collections', query: { $limit: '-1' }, status: 400, message: /"query\.\$limit" must be >= 0/ },
  { description: '$skip=-5 on records', method: 'GET', path: '/collections/{c}/records', query: { $skip: '-5' }, status: 400, message: /"query\.\$skip" must be >= 0/ },
  { description: '$limit that is not a number', method: 'GET', path: '/collections/{c}/records', query: { $limit: 'ten' }, status: 400, message: /"query\.\$limit" must be integer/ },
  { description: '$sort on a data field', method: 'GET', path: '/collections/{c}/records', query: { $sort: { data: '1' } }, status: 400, message: /"query\.\$sort" has an unknown field "data"/ },
  { description: '$sort with an unknown direction', method: 'GET', path: '/collections/{c}/records', query: { $sort: { id: '2' } }, status: 400, message: /"query\.\$sort\.id"/ },
  { description: 'an invalid id in id.$in', method: 'GET', path: '/collections/{c}/records', query: { id: { $in: ['r1', '.hidden'] } }, status: 400, message: /"query\.id\.\$in\.1" must be an id/ },
  { description: 'deleted that is not a boolean', method: 'GET', path: '/collections/{c}/records', query: { deleted: 'maybe' }, status: 400, message: /"query\.deleted" must be boolean/ },
  { description: 'unknown query parameter on records', method: 'GET', path: '/collections/{c}/records', query: { colour: 'red' }, status: 400, message: /unknown field "colour"/ },
  { description: 'unknown query parameter on a record read', method: 'GET', path: '/collections/{c}/records/r1', query: { fields: 'data' }, status: 400, message: /unknown field "fields"/ },
  { description: 'unknown query parameter on a create', method: 'POST', path: '/collections/{c}/records', query: { upsert: 'true' }, body: { data: 1 }, status: 400, message: /unknown field "upsert"/ },
  { description: 'unknown query parameter on a remove', method: 'DELETE', path: '/collections/{c}/records/r1', query: { version: '2', force: 'true' }, status: 400, message: /unknown field "force"/ },
  { description: 'unknown query parameter on changes', method: 'GET', path: '/collections/{c}/changes', query: { after: '3' }, status: 400, message: /unknown field "after"/ },
  { description: 'unknown query parameter on collections', method: 'GET', path: '/collections', query: { ownerId: 'someone' }, status: 400, message: /unknown field "ownerId"/ },
  { description: 'unknown query parameter on a collection removal', method: 'DELETE', path: '/collections/{c}', query: { cascade: 'false' }, status: 400, message: /unknown field "cascade"/ },

  // Input shape (issue 12): depth, "__proto__" keys, text PostgreSQL cannot store, numbers the databases cannot hold
  { description: 'a body nested 101 levels deep', method: 'POST', path: '/collections/{c}/records', body: { data: nested(100) }, status: 400, message: /"data" is nested more than 100 levels deep \(the limit\)/ },
  { description: 'a body nested 2,000 levels deep', method: 'POST', path: '/collections/{c}/records', rawBody: `{"data": ${'['.repeat(2000)}${']'.repeat(2000)}}`, status: 400, message: /nested more than 100 levels deep/ },
  { description: 'a deep collection patch', method: 'PATCH', path: '/collections/{c}', body: { name: nested(150) }, status: 400, message: /"data" is nested more than 100 levels deep/ },
  { description: 'a deep batch operation', method: 'POST', path: '/batches', body: { id: 'deep', ttl: nested(120) }, status: 400, message: /nested more than 100 levels deep/ },
  { description: 'a query nested 101 levels deep', method: 'GET', path: '/collections/{c}/records', query: nestedQuery(101), status: 400, message: /"query" is nested more than 100 levels deep/, socketOnly: true },
  { description: 'a "__proto__" key in record data', method: 'POST', path: '/collections/{c}/records', body: withProtoKey('{"data": {"__proto__": {"admin": true}}}'), status: 400, message: /"__proto__" key is not allowed anywhere in a request/ },
  { description: 'a "__proto__" key deep in record data', method: 'PUT', path: '/collections/{c}/records/r1', body: withProtoKey('{"data": {"a": [{"__proto__": 1}]}, "version": 2}'), status: 400, message: /"__proto__" key is not allowed/ },
  { description: 'a "__proto__" key in a record patch', method: 'PATCH', path: '/collections/{c}/records/r1', body: withProtoKey('{"data": {"__proto__": {"x": 1}}, "version": 2}'), status: 400, message: /"__proto__" key is not allowed/ },
  { description: 'a "__proto__" key at the top of a body', method: 'POST', path: '/collections', body: withProtoKey('{"name": "x", "__proto__": {"id": "evil"}}'), status: 400, message: /"__proto__" key is not allowed/ },
  { description: 'a "__proto__" key in the query', method: 'GET', path: '/collections/{c}/records', query: withProtoKey('{"__proto__": {"deleted": "true"}}') as Query, status: 400, message: /"__proto__" key is not allowed/ },
  { description: 'a "__proto__[…]" parameter in the query string', method: 'GET', path: '/collections', rawQuery: '__proto__[$limit]=1', status: 400, message: /"__proto__" key is not allowed/, restOnly: true },
  { description: 'a percent-encoded "__proto__" parameter', method: 'DELETE', path: '/collections/{c}/records', rawQuery: 'versions[%5F%5Fproto%5F%5F]=1', status: 400, message: /"__proto__" key is not allowed/, restOnly: true },
  { description: 'record id "__proto__" in the path', method: 'GET', path: '/collections/{c}/records/__proto__', status: 400, message: /not a valid id.*not "__proto__"/ },
  { description: 'record id "__proto__" in the body', method: 'POST', path: '/collections/{c}/records', body: { id: '__proto__', data: 1 }, status: 400, message: /"data\.id" must be an id .*not "__proto__"/ },
  { description: 'collection id "__proto__" (create)', method: 'POST', path: '/collections', body: { id: '__proto__' }, status: 400, message: /"data\.id" must be an id/ },
  { description: 'collection id "__proto__" in the path', method: 'GET', path: '/collections/__proto__/records', status: 400, message: /"collectionId" in the path is not a valid id/ },
  { description: 'a NUL in a new collection\'s name', method: 'POST', path: '/collections', body: { name: 'a\u0000b' }, status: 400, message: /"data\.name" contains a NUL character/ },
  { description: 'a NUL in a collection rename', method: 'PATCH', path: '/collections/{c}', body: { name: '\u0000' }, status: 400, message: /"data\.name" contains a NUL character/ },
  { description: 'a lone surrogate in a collection name', method: 'PATCH', path: '/collections/{c}', body: { name: 'x\ud800' }, status: 400, message: /unpaired surrogate/ },
  { description: 'a NUL in a query value', method: 'GET', path: '/collections/{c}/records', query: { updatedBy: 'a\u0000b' }, status: 400, message: /"query\.updatedBy" contains a NUL character/ },
  { description: 'a NUL in a query key', method: 'GET', path: '/collections/{c}/records', query: { 'a\u0000': '1' }, status: 400, message: /"query" has a key with a NUL character/ },
  { description: 'a NUL in a cursor', method: 'GET', path: '/collections/{c}/changes', query: { since: '1\u0000' }, status: 400, message: /"query\.since" contains a NUL character/ },
  { description: 'a NUL in a record id in the path', method: 'GET', path: '/collections/{c}/records/r1%00', status: 400, message: /NUL character|not a valid id|request path is not valid/ },
  { description: 'a NUL in a collection id in the path', method: 'GET', path: '/collections/a%00b/records', status: 400, message: /NUL character|"collectionId" in the path is not a valid id/ },
  { description: 'a NUL in an invitation e-mail', method: 'POST', path: '/invitations', body: { collectionId: '{c}', role: 'reader', email: 'a\u0000@example.com' }, status: 400, message: /"data\.email" contains a NUL character/ },
  { description: '$skip=1e20 on records', method: 'GET', path: '/collections/{c}/records', query: { $skip: '1e20' }, status: 400, message: /"query\.\$skip" must be <= 2147483647/ },
  { description: '$skip=2^63 on collections', method: 'GET', path: '/collections', query: { $skip: '9223372036854775808' }, status: 400, message: /"query\.\$skip" must be <= 2147483647/ },
  { description: '$limit=1e20 on collections', method: 'GET', path: '/collections', query: { $limit: '1e20' }, status: 400, message: /"query\.\$limit" must be <= 2147483647/ },
  { description: '$skip=1e20 on members', method: 'GET', path: '/collections/{c}/members', query: { $skip: '1e20' }, status: 400, message: /"query\.\$skip" must be <= 2147483647/ },
  { description: '$skip=2^63 on invitations', method: 'GET', path: '/invitations', query: { $skip: '9223372036854775808' }, status: 400, message: /"query\.\$skip" must be <= 2147483647/ },
  { description: '$limit as an object', method: 'GET', path: '/collections/{c}/records', query: { $limit: { $gt: '1' } }, status: 400, message: /"query\.\$limit" must be integer/ },
  { description: 'a lock token beyond 2^53 in a commit', method: 'POST', path: '/batches', headers: { 'x-service-method': 'commit' }, body: { id: 'nope', lockTokens: { '{c}': 1e20 } }, status: 400, message: /"data\.lockTokens\.[^"]+" must be <= 9007199254740991/, restOnly: true },
  { description: 'a query string of 3001 parameters', method: 'GET', path: '/collections', rawQuery: Array.from({ length: 3001 }, (_, index) => index.toString(36)).join('&'), status: 400, message: /at most 3000 parameters/, restOnly: true },

  // Encryption keys: exact shapes of base64url values, no unknown fields, one key per user or epoch.
  // (More than 1000 keys is a 400 too, but does not fit in this server's 4 KiB requests: see test/services/key-epochs.test.ts.)
  { description: 'a public key with a "+" (not base64url)', method: 'PUT', path: '/user-keys/{me}', body: { publicKey: `${k(42)}+`, baseKeyVersion: 1 }, status: 400, message: /"data\.publicKey" must be 43 base64url characters/ },
  { description: 'a public key of 42 characters', method: 'PUT', path: '/user-keys/{me}', body: { publicKey: k(42), baseKeyVersion: 1 }, status: 400, message: /"data\.publicKey" must be 43 base64url characters \(32 bytes/ },
  { description: 'a public key with padding', method: 'PUT', path: '/user-keys/{me}', body: { publicKey: `${k(43)}=`, baseKeyVersion: 1 }, status: 400, message: /"data\.publicKey" must be 43 base64url/ },
  { description: 'a key version set by the client', method: 'PUT', path: '/user-keys/{me}', body: { publicKey: k(43), baseKeyVersion: 1, keyVersion: 5 }, status: 400, message: /unknown field "keyVersion"/ },
  { description: 'a negative base key version', method: 'PUT', path: '/user-keys/{me}', body: { publicKey: k(43), baseKeyVersion: -1 }, status: 400, message: /"data\.baseKeyVersion" must be >= 0/ },
  { description: 'an array of public keys', method: 'PUT', path: '/user-keys/{me}', body: [{ publicKey: k(43), baseKeyVersion: 1 }], status: 400, message: /"data" must be an object/ },
  { description: 'a passphrase copy with 11 iterations', method: 'PATCH', path: '/user-keys/{me}', body: { passphraseWrap: { ...PASSPHRASE_WRAP, t: 11 } }, status: 400, message: /"data\.passphraseWrap\.t" must be <= 10/ },
  { description: 'a passphrase copy with too little memory', method: 'PATCH', path: '/user-keys/{me}', body: { passphraseWrap: { ...PASSPHRASE_WRAP, m: 8 } }, status: 400, message: /"data\.passphraseWrap\.m" must be >= 19456/ },
  { description: 'a passphrase copy with a short salt', method: 'PATCH', path: '/user-keys/{me}', body: { passphraseWrap: { ...PASSPHRASE_WRAP, salt: k(21) } }, status: 400, message: /"data\.passphraseWrap\.salt" must be 22 base64url characters/ },
  { description: 'a passphrase copy with an unknown field', method: 'PATCH', path: '/user-keys/{me}', body: { passphraseWrap: { ...PASSPHRASE_WRAP, hint: 'dog' } }, status: 400, message: /"data\.passphraseWrap" has an unknown field "hint"/ },
  { description: 'a query on a public key', method: 'GET', path: '/user-keys/{me}', query: { keyVersion: '1' }, status: 400, message: /unknown field "keyVersion"/ },
  { description: 'a user key id that is not an id', method: 'GET', path: '/user-keys/.hidden', status: 400, message: /not a valid id/ },
  { description: 'an epoch of 0', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 0, keys: [OWN_KEY] }, status: 400, message: /"data\.epoch" must be >= 1/ },
  { description: 'a wrapped key whose enc is 44 characters', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 2, keys: [{ ...OWN_KEY, wrappedKey: { ...WRAPPED, enc: k(44) } }] }, status: 400, message: /"data\.keys\.0\.wrappedKey\.enc" must be 43 base64url characters/ },
  { description: 'a wrapped key of version 2', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 2, keys: [{ ...OWN_KEY, wrappedKey: { ...WRAPPED, v: 2 } }] }, status: 400, message: /"data\.keys\.0\.wrappedKey\.v" must be equal to constant/ },
  { description: 'a key input with an unknown field', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 2, keys: [{ ...OWN_KEY, wrappedBy: '{me}' }] }, status: 400, message: /"data\.keys\.0" has an unknown field "wrappedBy"/ },
  { description: 'a key for a user id that is not a UUID', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 2, keys: [{ ...OWN_KEY, userId: 'ada' }] }, status: 400, message: /"data\.keys\.0\.userId" must match format "uuid"/ },
  { description: 'the same user twice in an epoch', method: 'POST', path: '/collections/{c}/key-epochs', body: { epoch: 2, keys: [OWN_KEY, OWN_KEY] }, status: 400, message: /"data\.keys\.1\.userId".*one key per user/ },
  { description: 'a query on the key epochs', method: 'GET', path: '/collections/{c}/key-epochs', query: { epoch: '1' }, status: 400, message: /unknown field "epoch"/ },

  // The dashboard's routes: export (a download over REST only), open batches, breaking a lock.
  { description: 'a query on a collection export', method: 'GET', path: '/collections/{c}/export', query: { since: '1' }, status: 400, message: /"query" has an unknown field "since"/, restOnly: true },
  { description: 'a query on the export of everything', method: 'GET', path: '/export', query: { collectionId: '{c}' }, status: 400, message: /"query" has an unknown field "collectionId"/, restOnly: true },
  { description: 'an invalid collection id in an export path', method: 'GET', path: '/collections/%20x/export', status: 400, message: /"collectionId" in the path is not a valid id/, restOnly: true },
  { description: 'a query on the open batches', method: 'GET', path: '/collections/{c}/batches', query: { userId: '{me}' }, status: 400, message: /"query" has an unknown field "userId"/ },
  { description: 'a lock break that is not a boolean', method: 'DELETE', path: '/collections/{c}/locks/laptop', query: { $break: 'maybe' }, status: 400, message: /"query\.\$break" must be boolean/ },
  { description: 'a userId on a lock release that breaks nothing', method: 'DELETE', path: '/collections/{c}/locks/laptop', query: { userId: '{me}' }, status: 400, message: /"query\.userId" is only for breaking a lock/ },
  { description: 'an unknown field on a lock release', method: 'DELETE', path: '/collections/{c}/locks/laptop', query: { force: 'true' }, status: 400, message: /"query" has an unknown field "force"/ },
  { description: 'a wrapped key with padding', method: 'POST', path: '/collections/{c}/keys', body: { epoch: 1, keys: [{ ...OWN_KEY, wrappedKey: { ...WRAPPED, c: `${k(63)}=` } }] }, status: 400, message: /"data\.keys\.0\.wrappedKey\.c" must be 64 base64url characters/ },
  { description: 'a wrapped key without enc', method: 'POST', path: '/collections/{c}/keys', body: { epoch: 1, keys: [{ ...OWN_KEY, wrappedKey: { v: 1, c: k(64) } }] }, status: 400, message: /"data\.keys\.0\.wrappedKey" is missing "enc"/ },
  { description: 'keys without an epoch', method: 'POST', path: '/collections/{c}/keys', body: { keys: [OWN_KEY] }, status: 400, message: /"data" is missing "epoch"/ },
  { description: 'keys as an object', method: 'POST', path: '/collections/{c}/keys', body: { epoch: 1, keys: OWN_KEY }, status: 400, message: /"data\.keys" must be array/ },
  { description: 'keys of epoch 0 asked for', method: 'GET', path: '/collections/{c}/keys', query: { epoch: '0' }, status: 400, message: /"query\.epoch" must be >= 1/ },
  { description: 'keys of a user id that is not a UUID asked for', method: 'GET', path: '/collections/{c}/keys', query: { userId: 'ada' }, status: 400, message: /"query\.userId" must match format "uuid"/ },
  { description: 'keys in an invitation by e-mail', method: 'POST', path: '/invitations', body: { collectionId: '{c}', role: 'reader', email: 'someone@example.com', keys: [{ epoch: 1, keyVersion: 1, wrappedKey: WRAPPED }] }, status: 400, message: /"data\.keys" needs "userId"/ },
  { description: 'a malformed key in an invitation', method: 'POST', path: '/invitations', body: { collectionId: '{c}', role: 'reader', userId: '00000000-0000-4000-8000-000000000000', keys: [{ epoch: 1, keyVersion: 1, wrappedKey: { ...WRAPPED, enc: k(10) } }] }, status: 400, message: /"data\.keys\.0\.wrappedKey\.enc" must be 43 base64url/ },
  { description: 'two keys of one epoch in an invitation', method: 'POST', path: '/invitations', body: { collectionId: '{c}', role: 'reader', userId: '00000000-0000-4000-8000-000000000000', keys: [{ epoch: 1, keyVersion: 1, wrappedKey: WRAPPED }, { epoch: 1, keyVersion: 1, wrappedKey: WRAPPED }] }, status: 400, message: /one key per epoch/ },

  // Methods that do not exist
  { description: 'PUT on a collection', method: 'PUT', path: '/collections/{c}', body: { name: 'x' }, status: 405, message: /not supported|not allowed/ },
  { description: 'POST on the change feed', method: 'POST', path: '/collections/{c}/changes', body: { data: 1 }, status: 405, message: /not supported|not allowed/ },
  { description: 'listing public keys', method: 'GET', path: '/user-keys', status: 405, message: /not supported|not allowed/ },
  { description: 'removing a public key', method: 'DELETE', path: '/user-keys/{me}', status: 405, message: /not supported|not allowed/ },
  { description: 'changing a key epoch', method: 'PATCH', path: '/collections/{c}/key-epochs/1', body: { missing: [] }, status: 405, message: /not supported|not allowed/ },
  { description: 'removing a wrapped key', method: 'DELETE', path: '/collections/{c}/keys/{me}', status: 405, message: /not supported|not allowed/ },
  { description: 'a subscription over plain HTTP', method: 'POST', path: '/subscriptions', body: { collectionId: '{c}' }, status: 400, message: /need a realtime \(socket\.io\) connection/, restOnly: true }
]

/** `id[$in][0]=a` and friends, as koa-qs reads them. */
function queryString(query: Query, prefix = ''): string[] {
  return Object.entries(query).flatMap(([key, value]) => {
    const name = prefix ? `${prefix}[${key}]` : key
    if (typeof value === 'string') return [`${encodeURIComponent(name)}=${encodeURIComponent(value)}`]
    if (Array.isArray(value)) return value.map((item, index) => `${encodeURIComponent(`${name}[${index}]`)}=${encodeURIComponent(item)}`)
    return queryString(value, name)
  })
}

/** The raw (untyped) service methods of a socket.io connection. */
interface RawService {
  find(params?: object): Promise<unknown>
  get(id: string, params?: object): Promise<unknown>
  create(data: unknown, params?: object): Promise<unknown>
  update(id: string | null, data: unknown, params?: object): Promise<unknown>
  patch(id: string | null, data: unknown, params?: object): Promise<unknown>
  remove(id: string | null, params?: object): Promise<unknown>
}

/** The service path and id a REST path stands for, with ids decoded as the socket.io client would send them. */
function route(path: string): { service: string; id: string | null } {
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent)
  const serviceLength = segments[0] === 'collections' && segments.length >= 3 ? 3 : 1
  return { service: segments.slice(0, serviceLength).join('/'), id: segments[serviceLength] ?? null }
}

interface Answer {
  status: number
  body: { code?: number; name?: string; message?: string; stack?: unknown }
}

describeBackends('bad input', (backend) => {
  let server: TestServer
  let owner: TestClient
  let socket: { client: TestClient['client']; close(): void }
  let token: string
  let collectionId: string
  let epoch: string

  beforeAll(async () => {
    server = await startServer(backend, { limits: { recordBytes: RECORD_BYTES, requestBytes: REQUEST_BYTES } })
    owner = await signedIn(server.url, 'rest')
    token = (await owner.client.authentication.getAccessToken()) ?? ''
    socket = connect(server.url, 'socketio')
    await socket.client.authenticate({ strategy: 'local', email: owner.email, password: owner.password })

    // The fixture: r1 at version 2, r2 at version 1, a tombstone t1, and "big" (600 bytes of data).
    const collection = await owner.client.service('collections').create({ id: 'bad-input', name: 'fixture' })
    collectionId = collection.id
    epoch = collection.cursor.split('.')[1]
    const records = recordsClient(owner.client, collectionId)
    await records.create([
      { id: 'r1', data: { n: 1 } },
      { id: 'r2', data: 'two' },
      { id: 't1', data: null },
      { id: 'big', data: { text: long(600) } }
    ])
    await records.update('r1', { data: { n: 2 }, version: 1 })
    await records.remove('t1', { query: { version: 1 } })
    // Encrypted: the owner's public key (with a passphrase copy) and epoch 1 with their key.
    await owner.client.service('user-keys').update(owner.user.id, { publicKey: k(43), baseKeyVersion: 0, passphraseWrap: PASSPHRASE_WRAP })
    await keyEpochsClient(owner.client, collectionId).create({ epoch: 1, keys: [{ ...OWN_KEY, userId: owner.user.id }] })
  })
  afterAll(async () => {
    socket?.close()
    owner?.close()
    await server.close()
  })

  const fill = (text: string) => text.replaceAll('{c}', collectionId).replaceAll('{epoch}', epoch).replaceAll('{me}', owner.user.id)
  const fillDeep = <T>(value: T): T => (value === undefined ? value : (JSON.parse(fill(JSON.stringify(value))) as T))

  /** Everything a bad request could have changed: the owner's collections, the fixture's records, tombstones and cursor, and the users. */
  const snapshot = async () => {
    const page = { sort: [['seq', 1]] as Array<['seq', 1]>, limit: 1000, skip: 0 }
    const storage = server.storage
    const collections = await storage.listCollections({ memberId: owner.user.id, limit: 1000, skip: 0 })
    return {
      collections,
      fixture: await storage.getCollection(collectionId),
      live: await storage.findRecords(collectionId, { ...page, deleted: false }),
      tombstones: await storage.findRecords(collectionId, { ...page, deleted: true }),
      // The same through the API: the feed from the start, and the collection's cursor.
      feed: await changesClient(owner.client, collectionId).find(),
      cursor: (await owner.client.service('collections').get(collectionId)).cursor,
      noSuchCollection: await storage.getCollection('no-such-collection'),
      // The encryption keys: the owner's public key, the fixture's epochs and wrapped keys, and the owner's invitations.
      userKey: await storage.getUserKey(owner.user.id),
      keyEpochs: await storage.listKeyEpochs(collectionId, owner.user.id),
      wrappedKeys: await storage.listCollectionKeys(collectionId, { actorId: owner.user.id, limit: 1000, skip: 0 }),
      invitations: await storage.listInvitations({ collectionId, now: new Date().toISOString(), limit: 1000, skip: 0 })
    }
  }

  async function viaRest(kase: BadInput): Promise<Answer> {
    const query = kase.query ? queryString(fillDeep(kase.query)) : kase.rawQuery !== undefined ? [kase.rawQuery] : []
    const url = `${server.url}${fill(kase.path)}${query.length > 0 ? `?${query.join('&')}` : ''}`
    const body = kase.rawBody !== undefined ? kase.rawBody : kase.body !== undefined ? JSON.stringify(fillDeep(kase.body)) : undefined
    const response = await fetch(url, {
      method: kase.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...kase.headers
      },
      body
    })
    expect(response.headers.get('content-type'), 'a JSON error').toMatch(/^application\/json/)
    return { status: response.status, body: (await response.json()) as Answer['body'] }
  }

  async function viaSocket(kase: BadInput): Promise<Answer> {
    const { service: path, id } = route(fill(kase.path))
    const connection = socket.client.get('connection') as unknown as { service(path: string): RawService }
    const service = connection.service(path)
    const params = kase.query ? { query: fillDeep(kase.query) } : {}
    const data = fillDeep(kase.body)
    const call = (): Promise<unknown> => {
      switch (kase.method) {
        case 'GET':
          return id === null ? service.find(params) : service.get(id, params)
        case 'POST':
          return service.create(data, params)
        case 'PUT':
          return service.update(id, data, params)
        case 'PATCH':
          return service.patch(id, data, params)
        case 'DELETE':
          return service.remove(id, params)
      }
    }
    const error = await failure(call())
    // The client rebuilds a local Error (with a local stack) from what came over the wire.
    // test/http-errors.test.ts checks the raw socket.io answer for stacks.
    return { status: error.code, body: { code: error.code, name: error.name, message: error.message } }
  }

  const transports = [
    { name: 'rest', send: viaRest, cases: CASES.filter((kase) => !kase.socketOnly) },
    {
      name: 'socketio',
      send: viaSocket,
      cases: CASES.filter((kase) => !kase.restOnly && kase.rawBody === undefined && kase.headers === undefined)
    }
  ]

  it('has a fixture to protect', async () => {
    const before = await snapshot()
    expect(before.live.total).toBe(3)
    expect(before.tombstones.total).toBe(1)
    expect(before.fixture?.seq).toBe(6)
    expect(before.userKey).toMatchObject({ keyVersion: 1, passphraseWrap: PASSPHRASE_WRAP })
    expect(before.keyEpochs.map((item) => item.epoch)).toEqual([1])
    expect(before.wrappedKeys.total).toBe(1)
  })

  for (const { name, send, cases } of transports) {
    describe(`over ${name}`, () => {
      it.each(cases.map((kase) => [kase.description, kase] as const))('%s', async (_description, kase) => {
        const before = await snapshot()
        const answer = await send(kase)

        expect(answer.status, 'never a 500').toBeLessThan(500)
        expect({ status: answer.status, message: answer.body.message }).toEqual({
          status: kase.status,
          message: expect.stringMatching(kase.message)
        })
        expect(answer.body.code).toBe(kase.status)
        expect(answer.body).not.toHaveProperty('stack')

        expect(await snapshot(), 'the stored data is unchanged').toEqual(before)
      })
    })
  }

  it('the fixture is unchanged after every case, and still writable', async () => {
    const records = recordsClient(owner.client, collectionId)
    expect(await records.get('r1')).toMatchObject({ version: 2, data: { n: 2 } })
    expect((await records.find()).total).toBe(3)
    const written = await records.update('r1', { data: { n: 3 }, version: 2 })
    expect(written.version).toBe(3)
  })
})
