/**
 * Preloaded (`node --import`) into every process the benchmark starts. Over
 * the IPC channel it
 * - answers `{ probe: n }` with this process's CPU time (process.cpuUsage(),
 *   microseconds, finer than /proc's 10 ms ticks) and resident memory;
 * - exits when the benchmark process goes away, even killed with SIGKILL
 *   (the channel closes), instead of living on as an orphan.
 */
export interface ProbeAnswer {
  probe: number
  cpuMicros: number
  rssBytes: number
}

if (process.send !== undefined) {
  process.on('disconnect', () => process.exit(0))
  process.on('message', (message: { probe?: number }) => {
    if (typeof message?.probe !== 'number') return
    const { user, system } = process.cpuUsage()
    const answer: ProbeAnswer = { probe: message.probe, cpuMicros: user + system, rssBytes: process.memoryUsage.rss() }
    process.send?.(answer)
  })
  // The channel alone must not keep the process alive.
  process.channel?.unref()
}
