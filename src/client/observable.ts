import type { Observable } from './types.js'

/** A value with listeners: `set` notifies them when it changed (shallow compare of own fields). */
export class Value<T extends object> implements Observable<T> {
  private listeners = new Set<(value: T) => void>()

  constructor(private value: T) {}

  get(): T {
    return this.value
  }

  set(next: T): void {
    const changed = Object.keys(next).some((key) => (next as Record<string, unknown>)[key] !== (this.value as Record<string, unknown>)[key])
    this.value = next
    if (changed) for (const listener of [...this.listeners]) listener(next)
  }

  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener)
    listener(this.value)
    return () => this.listeners.delete(listener)
  }
}

/** A stream of events without a current value. */
export class Emitter<T> {
  private listeners = new Set<(value: T) => void>()

  emit(value: T): void {
    for (const listener of [...this.listeners]) listener(value)
  }

  on(listener: (value: T) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
