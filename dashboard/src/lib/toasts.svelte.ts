import { errorText } from './errors.js'

export type ToastKind = 'success' | 'error' | 'info'

export interface Toast {
  id: number
  kind: ToastKind
  message: string
}

/** Action results shown briefly in a corner (errors stay until dismissed). */
export class Toasts {
  items = $state<Toast[]>([])
  private nextId = 1

  constructor(private readonly lifetimeMs = 6_000) {}

  show(kind: ToastKind, message: string): number {
    const id = this.nextId++
    this.items.push({ id, kind, message })
    if (kind !== 'error') setTimeout(() => this.dismiss(id), this.lifetimeMs)
    return id
  }

  success(message: string): number {
    return this.show('success', message)
  }

  error(message: string): number {
    return this.show('error', message)
  }

  /**
   * Runs an action and says how it went: the message it resolves to as a success, or
   * "<failure>: <its error>" as an error. Resolves whether it succeeded.
   */
  async attempt(action: () => Promise<string>, failure: string): Promise<boolean> {
    try {
      this.success(await action())
      return true
    } catch (err) {
      this.error(`${failure}: ${errorText(err)}`)
      return false
    }
  }

  dismiss(id: number): void {
    const i = this.items.findIndex((t) => t.id === id)
    if (i >= 0) this.items.splice(i, 1)
  }
}
