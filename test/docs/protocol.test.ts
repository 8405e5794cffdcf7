import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeBackends } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { EXAMPLE_MARKER, fencedBlocks } from './fenced-blocks.js'

/**
 * Runs the examples of docs/PROTOCOL.md against a real server, so the wire
 * contract it describes is the one the code speaks. The markers are explained
 * at the top of PROTOCOL.md:
 *
 * - `<!-- example: NAME -->` before a fenced block makes it runnable. All
 *   blocks of one NAME form one program, in document order: `sh` blocks one
 *   bash script (`set -euo pipefail`, $ROOST = the server's URL), `ts` blocks
 *   one module run with `npx tsx` from the repository root (process.env.ROOST).
 * - `<!-- output -->` before a fenced block gives the expected output of the
 *   example block just above it: `json` (a JSON value), `http` (status line,
 *   some headers, a blank line, a JSON body; from `curl -i`) or `text` (lines).
 *   In expected output, `…` inside a string matches any characters, a bare
 *   `…` value matches any value, and a bare `…` member (or array element)
 *   allows further members (elements).
 * - `<!-- output: any order -->` is the same, except that the elements of
 *   every JSON array in it may come in any order (for lists ordered by
 *   generated ids).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOC = path.join(ROOT, 'docs/PROTOCOL.md')

interface Block {
  lang: string
  code: string
  /** 1-based line of the opening fence, for messages. */
  line: number
  output?: Block
  /** For an output block: its JSON arrays may come in any order. */
  anyOrder?: boolean
}

interface Example {
  name: string
  lang: 'sh' | 'ts'
  blocks: Block[]
}

const OUTPUT_MARKER = /^<!--\s*output(:\s*any order)?\s*-->$/
const RUNNABLE = new Set(['sh', 'ts'])
const OUTPUTS = new Set(['json', 'http', 'text'])

function parseExamples(markdown: string): Example[] {
  const examples = new Map<string, Example>()
  let lastExampleBlock: Block | undefined
  for (const { lang, code, line, marker } of fencedBlocks(markdown, 'PROTOCOL.md')) {
    const block: Block = { lang, code, line }
    const example = EXAMPLE_MARKER.exec(marker)
    if (example) {
      if (!RUNNABLE.has(lang)) throw new Error(`PROTOCOL.md:${block.line}: runnable blocks are sh or ts, not "${lang}"`)
      const [, name] = example
      const group = examples.get(name) ?? { name, lang: lang as Example['lang'], blocks: [] }
      if (group.lang !== lang) throw new Error(`PROTOCOL.md:${block.line}: example "${name}" mixes ${group.lang} and ${lang}`)
      group.blocks.push(block)
      examples.set(name, group)
      lastExampleBlock = block
    } else if (OUTPUT_MARKER.test(marker)) {
      if (OUTPUT_MARKER.exec(marker)![1]) block.anyOrder = true
      if (!OUTPUTS.has(lang)) throw new Error(`PROTOCOL.md:${block.line}: output blocks are json, http or text, not "${lang}"`)
      if (block.anyOrder && lang === 'text') throw new Error(`PROTOCOL.md:${block.line}: "any order" is for json and http outputs`)
      if (!lastExampleBlock || lastExampleBlock.output) {
        throw new Error(`PROTOCOL.md:${block.line}: an output block must follow a runnable example block`)
      }
      lastExampleBlock.output = block
    }
  }
  return [...examples.values()]
}

// Matching expected output (with … wildcards) against actual output.

const ANY = '\u0000any'
const REST = '\u0000rest'

/** JSON with bare `…` allowed as a value, an object member or an array element. */
function parseDocJson(text: string): unknown {
  let out = ''
  const stack: string[] = []
  let inString = false
  let escaped = false
  for (const ch of text) {
    if (inString) {
      out += ch
      if (escaped) escaped = false
      else if (ch === '\\') escaped = true
      else if (ch === '"') inString = false
      continue
    }
    if (ch === '"') inString = true
    if (ch === '{' || ch === '[') stack.push(ch)
    if (ch === '}' || ch === ']') stack.pop()
    if (ch === '…') {
      if (out.trimEnd().endsWith(':')) out += JSON.stringify(ANY)
      else if (stack.at(-1) === '{') out += `${JSON.stringify(REST)}: true`
      else out += JSON.stringify(REST)
      continue
    }
    out += ch
  }
  return JSON.parse(out)
}

const pattern = (expected: string): RegExp =>
  new RegExp(`^${expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's')

/** Whether each expected item matches a different actual item, in some order (backtracking; lists in the docs are short). */
function matchesInSomeOrder(items: unknown[], actual: unknown[], where: string): boolean {
  const used = new Set<number>()
  const place = (at: number): boolean => {
    if (at === items.length) return true
    for (let index = 0; index < actual.length; index++) {
      if (used.has(index)) continue
      const problems: string[] = []
      compareJson(items[at], actual[index], `${where}[${index}]`, problems, true)
      if (problems.length > 0) continue
      used.add(index)
      if (place(at + 1)) return true
      used.delete(index)
    }
    return false
  }
  return place(0)
}

function compareJson(expected: unknown, actual: unknown, where: string, problems: string[], anyOrder = false): void {
  if (expected === ANY) return
  const show = (value: unknown) => JSON.stringify(value)
  if (typeof expected === 'string') {
    if (typeof actual !== 'string' || !pattern(expected).test(actual)) problems.push(`${where}: expected ${show(expected)}, got ${show(actual)}`)
    return
  }
  if (Array.isArray(expected)) {
    const open = expected.at(-1) === REST
    const items = open ? expected.slice(0, -1) : expected
    if (!Array.isArray(actual) || (open ? actual.length < items.length : actual.length !== items.length)) {
      problems.push(`${where}: expected an array of ${open ? 'at least ' : ''}${items.length} items, got ${show(actual)}`)
      return
    }
    if (anyOrder && matchesInSomeOrder(items, actual, where)) return
    const positional: string[] = []
    items.forEach((item, index) => compareJson(item, actual[index], `${where}[${index}]`, positional, anyOrder))
    if (anyOrder && positional.length > 0) problems.push(`${where}: no order of the elements matches; in this order:`)
    problems.push(...positional)
    return
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      problems.push(`${where}: expected an object, got ${show(actual)}`)
      return
    }
    const open = REST in expected
    const keys = Object.keys(expected).filter((key) => key !== REST)
    for (const key of keys) {
      if (!(key in actual)) problems.push(`${where}.${key}: missing`)
      else compareJson((expected as Record<string, unknown>)[key], (actual as Record<string, unknown>)[key], `${where}.${key}`, problems, anyOrder)
    }
    if (!open) {
      for (const key of Object.keys(actual)) if (!keys.includes(key)) problems.push(`${where}.${key}: not documented (${show((actual as Record<string, unknown>)[key])})`)
    }
    return
  }
  if (!Object.is(expected, actual)) problems.push(`${where}: expected ${show(expected)}, got ${show(actual)}`)
}

function parseActualJson(actual: string, problems: string[]): unknown {
  try {
    return JSON.parse(actual)
  } catch {
    problems.push(`output is not JSON: ${JSON.stringify(actual.slice(0, 500))}`)
    return undefined
  }
}

/** Problems with `actual` as the output of a block documented as `expected`; none means it matches. */
function compareOutput(expected: Block, actual: string): string[] {
  const problems: string[] = []
  const text = actual.replace(/\r\n/g, '\n').trim()
  if (expected.lang === 'json') {
    const value = parseActualJson(text, problems)
    if (problems.length === 0) compareJson(parseDocJson(expected.code), value, '$', problems, expected.anyOrder)
  } else if (expected.lang === 'http') {
    const split = (value: string) => {
      const at = value.indexOf('\n\n')
      return at === -1 ? [value, ''] : [value.slice(0, at), value.slice(at + 2).trim()]
    }
    const [expectedHead, expectedBody] = split(expected.code.trim())
    // curl -i also prints interim responses (100 Continue before a large body): skip them.
    const [actualHead, actualBody] = split(text.replace(/^(HTTP\/[\d.]+ 1\d\d[^\n]*\n(?:[^\n]+\n)*\n)+/, ''))
    const [expectedStatus, ...expectedHeaders] = expectedHead.split('\n')
    const [actualStatus, ...actualHeaders] = actualHead.split('\n')
    if (!pattern(expectedStatus.trim()).test(actualStatus.trim())) problems.push(`status: expected "${expectedStatus}", got "${actualStatus}"`)
    const headers = actualHeaders.map((line) => {
      const at = line.indexOf(':')
      return [line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim()] as const
    })
    for (const line of expectedHeaders) {
      const at = line.indexOf(':')
      const name = line.slice(0, at).trim().toLowerCase()
      const value = line.slice(at + 1).trim()
      const found = headers.filter(([actualName]) => actualName === name)
      if (!found.some(([, actualValue]) => pattern(value).test(actualValue))) {
        problems.push(`header ${name}: expected "${value}", got ${JSON.stringify(found.map(([, v]) => v))}`)
      }
    }
    if (expectedBody === '') {
      if (actualBody !== '') problems.push(`body: expected none, got ${JSON.stringify(actualBody.slice(0, 500))}`)
    } else {
      const value = parseActualJson(actualBody, problems)
      if (problems.length === 0) compareJson(parseDocJson(expectedBody), value, 'body', problems, expected.anyOrder)
    }
  } else {
    const expectedLines = expected.code.trim().split('\n')
    const actualLines = text === '' ? [] : text.split('\n')
    if (expectedLines.length !== actualLines.length) problems.push(`expected ${expectedLines.length} lines, got ${actualLines.length}`)
    expectedLines.forEach((line, index) => {
      if (actualLines[index] === undefined || !pattern(line.trimEnd()).test(actualLines[index].trimEnd())) {
        problems.push(`line ${index + 1}: expected ${JSON.stringify(line)}, got ${JSON.stringify(actualLines[index])}`)
      }
    })
  }
  return problems
}

// Running examples.

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs} ms)`
      child.kill('SIGKILL')
    }, options.timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

const BLOCK_MARK = '@@roost-doc-block'

/** One bash script of all blocks, each announced on stdout so its output can be told apart. */
async function runShell(example: Example, url: string): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'roost-doc-'))
  try {
    const script = [
      'set -euo pipefail',
      ...example.blocks.map((block, index) => `printf '\\n${BLOCK_MARK} ${index}@@\\n'\n${block.code}`),
      `printf '\\n${BLOCK_MARK} end@@\\n'`
    ].join('\n')
    writeFileSync(path.join(dir, 'example.sh'), script)
    const result = await run('bash', ['example.sh'], { cwd: dir, env: { ...process.env, ROOST: url }, timeoutMs: 60_000 })

    const outputs = new Map<string, string>()
    const parts = result.stdout.split(new RegExp(`\\n${BLOCK_MARK} (\\d+|end)@@\\n`))
    for (let i = 1; i < parts.length; i += 2) outputs.set(parts[i], parts[i + 1] ?? '')
    const finished = outputs.has('end')
    const failedAt = [...outputs.keys()].filter((key) => key !== 'end').at(-1)
    if (result.code !== 0 || !finished) {
      const block = failedAt === undefined ? undefined : example.blocks[Number(failedAt)]
      throw new Error(
        `example "${example.name}" failed (exit ${result.code}) in the block at PROTOCOL.md:${block?.line ?? '?'}\n` +
          `--- block ---\n${block?.code ?? ''}\n--- its output ---\n${outputs.get(failedAt ?? '') ?? ''}\n--- stderr ---\n${result.stderr}`
      )
    }
    const problems = example.blocks.flatMap((block, index) =>
      block.output
        ? compareOutput(block.output, outputs.get(String(index)) ?? '').map(
            (problem) => `PROTOCOL.md:${block.output!.line} (output of the block at line ${block.line}): ${problem}`
          )
        : []
    )
    expect(problems, `actual outputs:\n${[...outputs].map(([key, value]) => `[${key}] ${value}`).join('\n')}`).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** TypeScript examples are written to the repository root, where their imports resolve as documented. */
const exampleFile = (example: Example) => path.join(ROOT, `.protocol-example-${example.name}-${randomBytes(4).toString('hex')}.ts`)
const exampleSource = (example: Example) => example.blocks.map((block) => block.code).join('\n\n') + '\n'

async function runTypeScript(example: Example, url: string): Promise<void> {
  const file = exampleFile(example)
  writeFileSync(file, exampleSource(example))
  try {
    const result = await run('npx', ['tsx', file], { cwd: ROOT, env: { ...process.env, ROOST: url }, timeoutMs: 60_000 })
    const stderr = result.stderr
      .split('\n')
      .filter((line) => !line.startsWith('npm warn'))
      .join('\n')
    expect(result.code, `example "${example.name}" (PROTOCOL.md:${example.blocks[0].line}) failed:\n${stderr}\n${result.stdout}`).toBe(0)
    const expected = example.blocks.filter((block) => block.output).map((block) => block.output!)
    if (expected.length > 0) {
      const combined: Block = { lang: 'text', code: expected.map((block) => block.code.trim()).join('\n'), line: expected[0].line }
      const problems = compareOutput(combined, result.stdout)
      expect(problems, `actual output:\n${result.stdout}`).toEqual([])
    }
  } finally {
    rmSync(file, { force: true })
  }
}

// The tests.

const examples = parseExamples(readFileSync(DOC, 'utf8'))

describe('docs/PROTOCOL.md', () => {
  it('has runnable curl and TypeScript examples, with documented outputs', () => {
    expect(examples.filter((example) => example.lang === 'sh').length).toBeGreaterThanOrEqual(1)
    expect(examples.filter((example) => example.lang === 'ts').length).toBeGreaterThanOrEqual(1)
    for (const example of examples) {
      expect(example.blocks.some((block) => block.output), `example "${example.name}" documents no output`).toBe(true)
      for (const block of example.blocks) {
        if (block.output?.lang === 'json' || block.output?.lang === 'http') {
          const body = block.output.lang === 'http' ? block.output.code.split('\n\n').slice(1).join('\n\n').trim() : block.output.code
          if (body !== '') expect(() => parseDocJson(body), `PROTOCOL.md:${block.output.line}`).not.toThrow()
        }
      }
    }
  })

  it('the output matcher understands … wildcards', () => {
    const json = (code: string): Block => ({ lang: 'json', code, line: 0 })
    expect(compareOutput(json('{ "id": "…", "n": 1, "more": … }'), '{"id":"x","n":1,"more":[1]}')).toEqual([])
    expect(compareOutput(json('{ "id": "…", … }'), '{"id":"x","extra":true}')).toEqual([])
    expect(compareOutput(json('{ "id": "…" }'), '{"id":"x","extra":true}')).toHaveLength(1)
    expect(compareOutput(json('{ "cursor": "3.…" }'), '{"cursor":"4.abc"}')).toHaveLength(1)
    expect(compareOutput(json('[1, …]'), '[1, 2, 3]')).toEqual([])
    const anyOrder = (code: string): Block => ({ lang: 'json', code, line: 0, anyOrder: true })
    expect(compareOutput(json('[{ "a": 1 }, { "a": 2 }]'), '[{"a":2},{"a":1}]')).toHaveLength(2)
    expect(compareOutput(anyOrder('{ "data": [{ "a": 1, "b": "…" }, { "a": 2, "b": "…" }] }'), '{"data":[{"a":2,"b":"x"},{"a":1,"b":"y"}]}')).toEqual([])
    expect(compareOutput(anyOrder('[{ "a": 1 }, { "a": 1 }]'), '[{"a":1},{"a":2}]')).not.toEqual([])
    expect(compareOutput(anyOrder('[1, …]'), '[3, 2, 1]')).toEqual([])
    const http: Block = { lang: 'http', code: 'HTTP/1.1 201 Created\nETag: "1"\n\n{ "a": 1 }', line: 0 }
    expect(compareOutput(http, 'HTTP/1.1 201 Created\r\nEtag: "1"\r\nVary: Origin\r\n\r\n{"a":1}')).toEqual([])
    expect(compareOutput(http, 'HTTP/1.1 200 OK\r\nETag: "1"\r\n\r\n{"a":1}')).toHaveLength(1)
  })

  it('the TypeScript examples type-check', async () => {
    const tsExamples = examples.filter((example) => example.lang === 'ts')
    const files = tsExamples.map((example) => {
      const file = exampleFile(example)
      writeFileSync(file, exampleSource(example))
      return file
    })
    const tsconfig = path.join(ROOT, `.protocol-examples-${randomBytes(4).toString('hex')}.tsconfig.json`)
    writeFileSync(tsconfig, JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, include: files.map((file) => path.basename(file)) }))
    try {
      const result = await run('npx', ['tsc', '-p', tsconfig], { cwd: ROOT, env: process.env, timeoutMs: 120_000 })
      expect(result.code, result.stdout + result.stderr).toBe(0)
    } finally {
      for (const file of [...files, tsconfig]) rmSync(file, { force: true })
    }
  })
})

describeBackends('docs/PROTOCOL.md examples', (backend) => {
  let server: TestServer

  beforeAll(async () => {
    try {
      execFileSync('curl', ['--version'], { stdio: 'ignore' })
    } catch {
      throw new Error('curl is not installed: the curl examples of docs/PROTOCOL.md need it (e.g. apt-get install curl)')
    }
    // Ada is the operator of the examples' server ("Operator view"); /metrics has a token ("Health, readiness and metrics").
    server = await startServer(backend, { operators: ['ada@example.com'], metrics: { token: 'example-metrics-token' } })
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const example of examples) {
    it(`${example.name} (${example.lang}, ${example.blocks.length} blocks)`, async () => {
      if (example.lang === 'sh') await runShell(example, server.url)
      else await runTypeScript(example, server.url)
    })
  }
})
