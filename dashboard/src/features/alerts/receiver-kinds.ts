import type { ReceiverDto } from '../../../../server/contract/index.js'

/** The per-kind fields of the receiver form, as typed; write-only ones start empty. */
export interface KindState {
  template: string
  to: string
  from: string
  host: string
  port: string
  starttls: boolean
  username: string
  password: string
  routingKey: string
  pagerdutyUrl: string
  botToken: string
  chatId: string
  apiUrl: string
}

export const usesUrl = (kind: ReceiverDto['kind']) => ['webhook', 'alertmanager', 'teams', 'discord'].includes(kind)

export function kindState(r: ReceiverDto | null): KindState {
  return {
    template: r?.template ?? '',
    to: r?.email?.to.join(', ') ?? '',
    from: r?.email?.from ?? '',
    host: r?.email?.host ?? '',
    port: String(r?.email?.port ?? 587),
    starttls: r?.email?.starttls ?? true,
    username: r?.email?.username ?? '',
    password: '',
    routingKey: '',
    pagerdutyUrl: '',
    botToken: '',
    chatId: r?.telegram?.chatId ?? '',
    apiUrl: '',
  }
}

/** The body fields of `kind` (empty write-only fields are left out: the stored values stay). */
export function kindBody(kind: ReceiverDto['kind'], s: KindState): Record<string, unknown> {
  const given = (v: string) => (v.trim() ? v.trim() : undefined)
  if (kind === 'webhook') return { template: given(s.template) ?? null }
  if (kind === 'email')
    return {
      email: {
        to: s.to.split(/[,\s]+/).filter(Boolean),
        from: s.from.trim(),
        host: s.host.trim(),
        port: Number(s.port),
        starttls: s.starttls,
        username: given(s.username),
        password: given(s.password),
      },
    }
  if (kind === 'pagerduty') return { pagerduty: { routingKey: given(s.routingKey), url: given(s.pagerdutyUrl) } }
  if (kind === 'telegram')
    return { telegram: { botToken: given(s.botToken), chatId: s.chatId.trim(), apiUrl: given(s.apiUrl) } }
  return {}
}
