import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './daemon.js'

/**
 * Debian's nginx in front of Roost instances, with the configuration of
 * docs/DEPLOY.md ("Several instances behind nginx"): the documented block is
 * read from the file and only its `listen` port and its `upstream roost`
 * servers are replaced, so the documented configuration is the tested one.
 * nginx runs in the foreground (`daemon off`), as a child of the test, with
 * every file it writes (pid, logs, temp bodies) in a temp folder of its own.
 */
export const NGINX = process.env.TEST_NGINX ?? '/usr/sbin/nginx'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DEPLOY = join(ROOT, 'docs', 'DEPLOY.md')
const MARKER = '<!-- nginx-config'
const STARTUP_TIMEOUT_MS = 5000

const running = new Set<ChildProcess>()
// Last resort if the worker exits without the test's clean-up: SIGTERM makes the master stop its workers too.
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM')
})

/** Why nginx cannot be used here, or undefined if it can. */
export const nginxProblem = (): string | undefined => {
  if (!existsSync(NGINX)) return `nginx is not installed (${NGINX}; apt-get install nginx)`
  const version = spawnSync(NGINX, ['-v'], { encoding: 'utf8' })
  return version.status === 0 ? undefined : `${NGINX} -v failed: ${version.stderr}`
}

/** The nginx block of docs/DEPLOY.md: the fenced block right after the marker comment. */
export function documentedConfig(): string {
  const text = readFileSync(DEPLOY, 'utf8')
  const at = text.indexOf(MARKER)
  if (at < 0) throw new Error(`docs/DEPLOY.md has no "${MARKER}" marker before its nginx configuration`)
  const block = /```nginx\n([\s\S]*?)```/.exec(text.slice(at))
  if (!block) throw new Error('docs/DEPLOY.md has no ```nginx block after its marker')
  return block[1]
}

/**
 * The documented configuration with `listen` on 127.0.0.1:`port` and the
 * upstream's servers replaced by `upstreams` (host:port each), with the
 * documented server parameters (max_fails, fail_timeout). Fails if the
 * documented block no longer has the shape this relies on.
 */
export function renderConfig(port: number, upstreams: string[]): string {
  const config = documentedConfig()
  const listens = config.match(/^\s*listen\s+[^;]+;/gm) ?? []
  if (listens.length !== 1) throw new Error(`the documented nginx config must have one listen line, has ${listens.length}`)
  const upstream = /(upstream roost \{\n)([\s\S]*?)(\n\})/.exec(config)
  if (!upstream) throw new Error('the documented nginx config has no "upstream roost { … }" block')
  const servers = [...upstream[2].matchAll(/^(\s*)server\s+\S+(.*;)$/gm)]
  if (servers.length === 0) throw new Error('the documented upstream roost has no server line')
  const [, indent, parameters] = servers[0]
  const lines = upstream[2].split('\n').filter((line) => !/^\s*server\s/.test(line))
  const body = [...lines, ...upstreams.map((address) => `${indent}server ${address}${parameters}`)].join('\n')
  return config
    .replace(upstream[0], `${upstream[1]}${body}${upstream[3]}`)
    .replace(/^(\s*)listen\s+[^;]+;/m, `$1listen 127.0.0.1:${port};`)
}

/** The main nginx.conf around the documented http-level block: everything nginx writes stays in `prefix`. */
function mainConfig(prefix: string, site: string): string {
  const temp = (name: string) => join(prefix, name)
  return [
    'daemon off;',
    'worker_processes 1;',
    // Workers run as the test's user (root here; nginx's default "nobody" could not write the temp folder).
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    `pid ${temp('nginx.pid')};`,
    `error_log ${temp('error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log ${temp('access.log')};`,
    `  client_body_temp_path ${temp('client_body')};`,
    `  proxy_temp_path ${temp('proxy')};`,
    `  fastcgi_temp_path ${temp('fastcgi')};`,
    `  uwsgi_temp_path ${temp('uwsgi')};`,
    `  scgi_temp_path ${temp('scgi')};`,
    site,
    '}',
    ''
  ].join('\n')
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

export interface Nginx {
  url: string
  /** The rendered http-level configuration it runs with. */
  config: string
  /** nginx's error log so far (upstream failures are logged there). */
  errors(): string
  /** The access log so far: one line per request (socket.io upgrades included). */
  accessLog(): string
  /** Stops nginx (SIGQUIT, then SIGKILL) and removes its folder. */
  close(): Promise<void>
}

/** Starts nginx on a free port in front of `upstreams` (URLs such as http://127.0.0.1:1234). */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'roost-nginx-'))
  const port = await freePort()
  const config = renderConfig(
    port,
    upstreams.map((url) => new URL(url).host)
  )
  const file = join(prefix, 'nginx.conf')
  writeFileSync(file, mainConfig(prefix, config))
  // -e: the error log before the configuration is read (Debian's default is /var/log/nginx).
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] })
  running.add(child)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child)
      resolve()
    })
  )
  const read = (name: string) => {
    try {
      return readFileSync(join(prefix, name), 'utf8')
    } catch {
      return ''
    }
  }
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      await exited
      clearTimeout(timer)
    }
    rmSync(prefix, { recursive: true, force: true })
  }

  for (const deadline = Date.now() + STARTUP_TIMEOUT_MS; !(await accepts(port)); ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = `nginx did not start on port ${port}: ${stderr}${read('error.log')}`
      await close()
      throw new Error(why)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { url: `http://127.0.0.1:${port}`, config, errors: () => read('error.log'), accessLog: () => read('access.log'), close }
}
