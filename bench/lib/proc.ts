import { readFileSync, writeFileSync } from 'node:fs'

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
  /** Highest resident set of the measured process, in MiB. */
  peakRssMiB: number
}

/** Measures one process (the server, or this process for raw targets) plus the database's backends. */
export class ResourceMeter {
  private startCpu = 0
  private startLoad = 0
  private startDb = new Map<number, number>()
  private startWall = 0
  private peakKb = 0
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly pid: number,
    /** The process's CPU seconds so far. */
    private readonly cpu: () => Promise<number>,
    /** PostgreSQL backends serving the target's database (their CPU is reported separately). */
    private readonly dbPids?: () => Promise<number[]>
  ) {}

  async start(): Promise<void> {
    resetPeak(this.pid)
    this.peakKb = statusKb(this.pid, 'VmRSS') ?? 0
    this.startDb = new Map()
    for (const pid of (await this.dbPids?.()) ?? []) this.startDb.set(pid, cpuSeconds(pid) ?? 0)
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
    clearInterval(this.timer)
    this.sample()
    this.peakKb = Math.max(this.peakKb, statusKb(this.pid, 'VmHWM') ?? 0)
    let dbCpuSeconds: number | undefined
    if (this.dbPids) {
      dbCpuSeconds = 0
      // Backends that started during the measurement count from zero; ones that ended are lost (rare: pools keep them).
      for (const pid of await this.dbPids()) dbCpuSeconds += (cpuSeconds(pid) ?? 0) - (this.startDb.get(pid) ?? 0)
    }
    return { cpuSeconds: cpu, dbCpuSeconds, loadCpuSeconds, wallSeconds, peakRssMiB: this.peakKb / 1024 }
  }

  private sample() {
    this.peakKb = Math.max(this.peakKb, statusKb(this.pid, 'VmRSS') ?? 0)
  }
}
