import { spawnNode, type NodeChild } from '../lib/children.js'
import { clockCheck, sharedClock } from '../lib/clock.js'
import type { LoadAnswer, LoadMessage, LoadRequest } from './w4-load-process.js'

/** A load process of W4 / W4k (w4-load-process.ts), asked over IPC. */
export interface LoadProcess {
  child: NodeChild
  ask<T>(request: LoadRequest): Promise<T>
  stop(): Promise<void>
}

const SCRIPT = 'bench/workloads/w4-load-process.ts'

/**
 * Starts a load process and checks that it reads the same clock as this
 * one (three times, so that one slow answer is not mistaken for a clock
 * difference: every answer must lie between question and reply).
 */
export async function startLoadProcess(): Promise<LoadProcess> {
  const child = spawnNode(SCRIPT, {})
  let next = 0
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  child.process.on('message', (raw: { id?: unknown; ok?: unknown }) => {
    if (typeof raw?.id !== 'number' || typeof raw.ok !== 'boolean') return
    const message = raw as LoadAnswer
    const pending = waiting.get(message.id)
    if (pending === undefined) return
    waiting.delete(message.id)
    if (message.ok) pending.resolve(message.result)
    else pending.reject(new Error(`load process: ${message.error}`))
  })
  void child.exited.then((code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`load process exited (${code}) before answering\n${child.output()}`))
    waiting.clear()
  })
  const ask = <T>(request: LoadRequest) =>
    new Promise<T>((resolve, reject) => {
      const id = next++
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject })
      child.process.send({ id, request } satisfies LoadMessage)
    })
  const load: LoadProcess = {
    child,
    ask,
    async stop() {
      if (child.process.connected) await ask({ op: 'close' }).catch(() => undefined)
      await child.stop()
    }
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const ready = (message: { ready?: unknown }) => {
        if (message?.ready !== true) return
        child.process.off('message', ready)
        resolve()
      }
      child.process.on('message', ready)
      void child.exited.then((code) => reject(new Error(`load process exited (${code}) before it was ready\n${child.output()}`)))
    })
    for (let attempt = 0; attempt < 3; attempt++) {
      const sentAt = sharedClock()
      const reading = await ask<number>({ op: 'clock' })
      const problem = clockCheck(sentAt, reading, sharedClock())
      if (problem) throw new Error(problem)
    }
  } catch (error) {
    await child.stop()
    throw error
  }
  return load
}
