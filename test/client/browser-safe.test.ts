import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundle } from '../helpers/browser.js'

const clientDir = fileURLToPath(new URL('../../src/client/', import.meta.url))
/** The only client modules meant for Node (roost/client/sqlite, roost/client/node). */
const nodeOnly = new Set(['stores/sqlite.ts', 'node.ts'])

const clientFiles = (await readdir(clientDir, { recursive: true }))
  .map((file) => file.split('\\').join('/'))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !nodeOnly.has(file))
  .sort()

describe('src/client is browser-safe', () => {
  it.each(clientFiles)('%s bundles for the browser without Node built-ins', async (file) => {
    expect(await bundle(join(clientDir, file))).not.toBe('')
  })

  describe('the check itself', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'roost-bundle-'))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it.each(['node:fs', 'crypto'])('fails on an import of the Node built-in %s', async (builtin) => {
      const entry = join(dir, `uses-${builtin.replace(':', '-')}.ts`)
      await writeFile(entry, `import * as m from '${builtin}'\nconsole.log(m)\n`)
      await expect(bundle(entry)).rejects.toThrow(/Bundling .* for the browser failed:[\s\S]*built into node/)
    })
  })
})
