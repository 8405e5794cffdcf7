import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'

/**
 * CPU time and memory of processes. The measured process reports its own CPU
 * time (process.cpuUsage(), see child-probe.ts); other processes' CPU time
 * (PostgreSQL backends) comes from /proc/<pid>/stat in 10 ms ticks. The peak
 * memory is the resident set's high-water mark (VmHWM), reset at the start of
 * a measurement through /proc/<pid>/clear_refs, and also sampled (VmRSS) in
 * case the reset is not allowed.
 */
const CLOCK_TICKS_PER_SECOND = 100 // USER_HZ; 100 on every Linux this runs on (getconf CLK_TCK)

/** CPU seconds the process has used so far, or undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return (utime + stime) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

/** Resets VmHWM to the current RSS; false if not allowed. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** This process's CPU seconds so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

export interface Usage {
  /** CPU seconds of the measured process during the measurement. */
  cpuSeconds: number
  /** CPU seconds of other processes doing the work (PostgreSQL backends), if known. */
  dbCpuSeconds?: number
  /** CPU seconds of the benchmark process (the load generator; for raw targets also the "server"). */
  loadCpuSeconds: number
  wallSeconds: number
  /** Highest resident set of the measured process (several: each one's, summed), in MiB. */
  peakRssMiB: number
  /** Processes reported one by one (several instances, nginx, Redis): CPU seconds of each, or undefined if unreadable. */
  parts?: PartUsage[]
}

export interface PartUsage {
  label: string
  /** Counted in `cpuSeconds` (a Roost instance), or besides it (nginx, Redis). */
  server: boolean
  cpuSeconds?: number
}

/** A process a target reports on its own (targets/types.ts ProcessPart). */
interface Part {
  label: string
  server: boolean
  cpuSeconds(): Promise<number | undefined>
}

/**
 * Measures the server process (several: each one, their memory summed; or
 * this process for raw targets), the database's backends, and the target's
 * other processes one by one.
 */
export class ResourceMeter {
  private startCpu = 0
  private startLoad = 0
  private startDb = new Map<number, number>()
  private startParts: Array<number | undefined> = []
  private startWall = 0
  private peakKb = new Map<number, number>()
  private timer: NodeJS.Timeout | undefined
  private readonly pids: number[]

  constructor(
    pids: number | number[],
    /** The server's CPU seconds so far. */
    private readonly cpu: () => Promise<number>,
    /** PostgreSQL backends serving the target's database (their CPU is reported separately). */
    private readonly dbPids?: () => Promise<number[]>,
    private readonly parts: Part[] = []
  ) {
    this.pids = Array.isArray(pids) ? pids : [pids]
  }

  async start(): Promise<void> {
    this.peakKb = new Map()
    for (const pid of this.pids) {
      resetPeak(pid)
      this.peakKb.set(pid, statusKb(pid, 'VmRSS') ?? 0)
    }
    this.startDb = new Map()
    for (const pid of (await this.dbPids?.()) ?? []) this.startDb.set(pid, cpuSeconds(pid) ?? 0)
    this.startParts = await Promise.all(this.parts.map((part) => part.cpuSeconds()))
    this.startCpu = await this.cpu()
    this.startLoad = ownCpuSeconds()
    this.startWall = performance.now()
    this.timer = setInterval(() => this.sample(), 100)
    this.timer.unref()
  }

  async stop(): Promise<Usage> {
    const wallSeconds = (performance.now() - this.startWall) / 1000
    const loadCpuSeconds = ownCpuSeconds() - this.startLoad
    const cpu = (await this.cpu()) - this.startCpu
    const partsNow = await Promise.all(this.parts.map((part) => part.cpuSeconds()))
    clearInterval(this.timer)
    this.sample()
    let peakKb = 0
    for (const pid of this.pids) peakKb += Math.max(this.peakKb.get(pid) ?? 0, statusKb(pid, 'VmHWM') ?? 0)
    let dbCpuSeconds: number | undefined
    if (this.dbPids) {
      dbCpuSeconds = 0
      // Backends that started during the measurement count from zero; ones that ended are lost (rare: pools keep them).
      for (const pid of await this.dbPids()) dbCpuSeconds += (cpuSeconds(pid) ?? 0) - (this.startDb.get(pid) ?? 0)
    }
    const parts = this.parts.map(({ label, server }, index): PartUsage => {
      const [before, after] = [this.startParts[index], partsNow[index]]
      return { label, server, ...(before === undefined || after === undefined ? {} : { cpuSeconds: after - before }) }
    })
    return { cpuSeconds: cpu, dbCpuSeconds, loadCpuSeconds, wallSeconds, peakRssMiB: peakKb / 1024, ...(parts.length > 0 ? { parts } : {}) }
  }

  private sample() {
    for (const pid of this.pids) this.peakKb.set(pid, Math.max(this.peakKb.get(pid) ?? 0, statusKb(pid, 'VmRSS') ?? 0))
  }
}

/**
 * The processes holding a listening TCP socket on `port` (of any address):
 * nginx's master and workers share theirs, Redis has its own. Found through
 * /proc/net/tcp{,6} (the socket's inode) and every process's open files;
 * empty where /proc does not show them (another user's processes, a remote server).
 */
export function listeningPids(port: number): number[] {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1].split(':')[1], 16) === port) inodes.add(fields[9])
    }
  }
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${entry}/fd`)
    } catch {
      continue
    }
    const holds = fds.some((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${entry}/fd/${fd}`))
        return match !== null && inodes.has(match[1])
      } catch {
        return false
      }
    })
    if (holds) pids.push(Number(entry))
  }
  return pids
}

/** The CPU seconds of `pids` together so far (processes gone since count nothing), or undefined if none can be read. */
export function summedCpuSeconds(pids: number[]): number | undefined {
  const seconds = pids.map(cpuSeconds).filter((value): value is number => value !== undefined)
  return seconds.length === 0 ? undefined : seconds.reduce((total, value) => total + value, 0)
}
