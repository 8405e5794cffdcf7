import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertJson } from '../../src/client/json.js'

const SUFFIX = ' (only null, booleans, finite numbers, strings, arrays and plain objects: JSON)'

/** The TypeError assertJson throws for `value`, or a failure if it accepts it. */
function refusal(value: unknown, what = 'data'): string {
  try {
    assertJson(value, what)
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError)
    const message = (error as TypeError).message
    expect(message.endsWith(SUFFIX), message).toBe(true)
    return message.slice(0, -SUFFIX.length)
  }
  throw new Error(`assertJson accepted ${String(value)}`)
}

describe('assertJson', () => {
  it('accepts every kind of JSON value', () => {
    const shared = { same: 'object twice' }
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -1.5,
      1e308,
      5e-324,
      Number.MAX_SAFE_INTEGER,
      '',
      'a\u0000b \ud800 lone, \udfff\ud800 reversed, 🦜',
      [],
      {},
      [null, [[]], { a: [{}] }],
      { nested: { deeper: { list: [1, 'two', null, false, { x: [] }] } } },
      JSON.parse('{"__proto__": {"x": 1}, "constructor": 2, "": 3}'),
      Object.assign(Object.create(null) as object, { noPrototype: true }),
      // The same object twice is not a cycle (JSON writes it twice).
      { left: shared, right: shared, list: [shared, shared] }
    ]
    for (const value of values) expect(() => assertJson(value, 'data')).not.toThrow()
  })

  it('accepts whatever JSON.parse returns (fast-check)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertJson(value, 'data')
        assertJson(JSON.parse(JSON.stringify(value)), 'data')
      }),
      { numRuns: 300 }
    )
  })

  it('accepts deep nesting', () => {
    let value: unknown = 'leaf'
    for (let depth = 0; depth < 2000; depth++) value = depth % 2 ? [value] : { down: value }
    expect(() => assertJson(value, 'data')).not.toThrow()
  })

  it('refuses values JSON cannot carry, naming what they are', () => {
    class Point {
      x = 1
    }
    const cases: Array<[unknown, string]> = [
      [undefined, 'data is undefined'],
      [() => 1, 'data is a function'],
      [Symbol('s'), 'data is a symbol'],
      [BigInt(7), 'data is a BigInt'],
      [Number.NaN, 'data is NaN'],
      [Number.POSITIVE_INFINITY, 'data is Infinity'],
      [Number.NEGATIVE_INFINITY, 'data is -Infinity'],
      [new Date(0), 'data is a Date'],
      [new Map(), 'data is a Map'],
      [new Set([1]), 'data is a Set'],
      [/x/, 'data is a RegExp'],
      [new Uint8Array(2), 'data is a Uint8Array'],
      [new ArrayBuffer(2), 'data is an ArrayBuffer'],
      [new String('boxed'), 'data is a String'],
      [new Point(), 'data is a Point instance'],
      [Object.create({ inherited: 1 }) as object, 'data is an object whose prototype is not Object.prototype'],
      [new Error('e'), 'data is an Error'],
      [Promise.resolve(1), 'data is a Promise'],
      [{ [Symbol('key')]: 1 }, 'data has a symbol key']
    ]
    for (const [value, message] of cases) expect(refusal(value)).toBe(message)
  })

  it('names the path of the first bad value', () => {
    expect(refusal({ a: { b: [1, 2, { c: undefined }] } })).toBe('data.a.b[2].c is undefined')
    expect(refusal({ 'key with space': [{ 'ключ': BigInt(1) }] })).toBe('data["key with space"][0]["ключ"] is a BigInt')
    expect(refusal({ ok: 1, $valid_1: { first: () => 1, second: Number.NaN } })).toBe('data.$valid_1.first is a function')
    expect(refusal([1, [2, [3, new Date(0)]]], 'record notes/n1: data')).toBe('record notes/n1: data[1][1][1] is a Date')
    expect(refusal({ '': null, '0': { '"quoted"': Symbol('s') } })).toBe('data["0"]["\\"quoted\\""] is a symbol')
  })

  it('refuses holes in sparse arrays (they would come back as null)', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(refusal({ list: [1, , 3] })).toBe('data.list[1] is a hole in a sparse array')
    expect(refusal({ list: new Array(3) })).toBe('data.list[0] is a hole in a sparse array')
  })

  it('refuses array subclasses', () => {
    class List extends Array<number> {}
    expect(refusal({ list: List.from([1]) })).toBe('data.list is an Array subclass (List)')
  })

  it('refuses cycles, directly and through arrays', () => {
    const direct: Record<string, unknown> = { a: 1 }
    direct.self = direct
    expect(refusal(direct)).toBe('data.self refers back to an object that contains it (a cycle)')
    const throughArray: Record<string, unknown> = { list: [] }
    ;(throughArray.list as unknown[]).push({ up: throughArray })
    expect(refusal(throughArray)).toBe('data.list[0].up refers back to an object that contains it (a cycle)')
    const selfArray: unknown[] = []
    selfArray.push(selfArray)
    expect(refusal(selfArray)).toBe('data[0] refers back to an object that contains it (a cycle)')
  })
})
