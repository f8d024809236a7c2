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

  dismiss(id: number): void {
    const i = this.items.findIndex((t) => t.id === id)
    if (i >= 0) this.items.splice(i, 1)
  }
}
