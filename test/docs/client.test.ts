import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sqlite } from '../helpers/backends.js'
import { startServer, type TestServer } from '../helpers/server.js'
import { EXAMPLE_MARKER, fencedBlocks } from './fenced-blocks.js'

/**
 * Runs the examples of docs/CLIENT.md, in the order they appear, against a
 * real listening server (SQLite), so that what the guide shows is what the
 * client does. The markers are explained at the top of CLIENT.md:
 *
 * - `<!-- example: NAME -->` before a ```ts block makes it runnable; all
 *   blocks of one NAME form one module, written to the repository root (so
 *   that `roost/client` resolves as the package's own name) and run with
 *   `npx tsx`, the server's URL in process.env.ROOST.
 * - `<!-- output -->` before a ```text block gives the expected output of the
 *   runnable block above it; an example's outputs together are its whole
 *   standard output. `…` matches any characters within a line.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOC = 'docs/CLIENT.md'

interface Block {
  code: string
  /** 1-based line of the opening fence, for messages. */
  line: number
  output?: Block
}

interface Example {
  name: string
  blocks: Block[]
}

const OUTPUT_MARKER = /^<!--\s*output\s*-->$/

/** The runnable examples, in the order of their first block. */
function parseExamples(markdown: string): Example[] {
  const examples = new Map<string, Example>()
  let lastExampleBlock: Block | undefined
  for (const { lang, code, line, marker } of fencedBlocks(markdown, DOC)) {
    const block: Block = { code, line }
    const example = EXAMPLE_MARKER.exec(marker)
    if (example) {
      if (lang !== 'ts') throw new Error(`${DOC}:${block.line}: runnable blocks are ts, not "${lang}"`)
      const group = examples.get(example[1]) ?? { name: example[1], blocks: [] }
      group.blocks.push(block)
      examples.set(example[1], group)
      lastExampleBlock = block
    } else if (OUTPUT_MARKER.test(marker)) {
      if (lang !== 'text') throw new Error(`${DOC}:${block.line}: output blocks are text, not "${lang}"`)
      if (!lastExampleBlock || lastExampleBlock.output) throw new Error(`${DOC}:${block.line}: an output block must follow a runnable example block`)
      lastExampleBlock.output = block
    }
  }
  return [...examples.values()]
}

const linePattern = (expected: string): RegExp =>
  new RegExp(`^${expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)

/** Problems with `actual` as the output documented as `expected` (lines, `…` wildcards); none means it matches. */
function compareLines(expected: string, actual: string): string[] {
  const expectedLines = expected.trim().split('\n')
  const text = actual.replace(/\r\n/g, '\n').trim()
  const actualLines = text === '' ? [] : text.split('\n')
  const problems: string[] = []
  if (expectedLines.length !== actualLines.length) problems.push(`expected ${expectedLines.length} lines, got ${actualLines.length}`)
  expectedLines.forEach((line, index) => {
    if (actualLines[index] === undefined || !linePattern(line.trimEnd()).test(actualLines[index].trimEnd())) {
      problems.push(`line ${index + 1}: expected ${JSON.stringify(line)}, got ${JSON.stringify(actualLines[index])}`)
    }
  })
  return problems
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`
      child.kill('SIGKILL')
    }, timeoutMs)
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

/** Example modules go to the repository root, where `roost/client` resolves as it does in an app that installed the package. */
const exampleFile = (example: Example) => path.join(ROOT, `.client-example-${example.name}-${randomBytes(4).toString('hex')}.ts`)
const exampleSource = (example: Example) => example.blocks.map((block) => block.code).join('\n\n') + '\n'

const examples = parseExamples(readFileSync(path.join(ROOT, DOC), 'utf8'))

describe(DOC, () => {
  it('has runnable examples, each with documented output', () => {
    expect(examples.map((example) => example.name)).toEqual(['quickstart', 'paging', 'conflicts', 'groups', 'encryption', 'dashboard', 'errors'])
    for (const example of examples) expect(example.blocks.some((block) => block.output), `example "${example.name}" documents no output`).toBe(true)
  })

  it('the output matcher understands … and counts lines', () => {
    expect(compareLines('a: …\nb', 'a: 1 2 3\nb\n')).toEqual([])
    expect(compareLines('a: …', 'a: 1\nb')).toEqual(['expected 1 lines, got 2'])
    expect(compareLines('x 409 …', 'x 404 y')).toHaveLength(1)
  })

  it('the examples type-check', async () => {
    const files = examples.map((example) => {
      const file = exampleFile(example)
      writeFileSync(file, exampleSource(example))
      return file
    })
    const tsconfig = path.join(ROOT, `.client-examples-${randomBytes(4).toString('hex')}.tsconfig.json`)
    writeFileSync(tsconfig, JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, include: files.map((file) => path.basename(file)) }))
    try {
      const result = await run('npx', ['tsc', '-p', tsconfig], process.env, 120_000)
      expect(result.code, result.stdout + result.stderr).toBe(0)
    } finally {
      for (const file of [...files, tsconfig]) rmSync(file, { force: true })
    }
  })
})

describe(`${DOC} examples against a server [sqlite]`, () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(sqlite)
  })
  afterAll(async () => {
    await server?.close()
  })

  for (const example of examples) {
    it(`${example.name} (${example.blocks.length} blocks, ${DOC}:${example.blocks[0].line})`, async () => {
      const file = exampleFile(example)
      writeFileSync(file, exampleSource(example))
      try {
        const result = await run('npx', ['tsx', file], { ...process.env, ROOST: server.url }, 60_000)
        const stderr = result.stderr
          .split('\n')
          .filter((line) => !line.startsWith('npm warn'))
          .join('\n')
        expect(result.code, `example "${example.name}" failed:\n${stderr}\n${result.stdout}`).toBe(0)
        const expected = example.blocks.flatMap((block) => (block.output ? [block.output.code.trim()] : [])).join('\n')
        expect(compareLines(expected, result.stdout), `actual output:\n${result.stdout}`).toEqual([])
      } finally {
        rmSync(file, { force: true })
      }
    })
  }
})
