import type { TokenDto } from '../../../../server/contract/index.js'
import { ApiError } from '../../lib/api.js'
import { saveProblems, type FieldProblems } from '../../lib/field-errors.js'

export type TokenStatus = 'active' | 'revoked' | 'expired'

export function tokenStatus(token: Pick<TokenDto, 'revoked_at' | 'expires_at'>, now: number): TokenStatus {
  if (token.revoked_at) return 'revoked'
  if (token.expires_at && new Date(token.expires_at).getTime() <= now) return 'expired'
  return 'active'
}

/** How much of its budget a token's scope spent this period: the larger of tokens and cost. */
export interface BudgetUse {
  ratio: number
  /** Which part of the budget the ratio is of. */
  of: 'tokens' | 'cost'
  used: number
  limit: number
}

/**
 * Null when the token has no budget, or no usage figures, or the only part of the budget is
 * cost and the cost is unknown (a model without a price): nothing is made up.
 */
export function budgetUse(token: Pick<TokenDto, 'budget' | 'usage'>): BudgetUse | null {
  const { budget, usage } = token
  if (!budget || !usage) return null
  const parts: BudgetUse[] = []
  // A token's budget counts the token's own spend (its project's budget, if any, is the project's).
  const tokens = usage.prompt_tokens + usage.completion_tokens
  if (budget.tokens !== undefined)
    parts.push({ of: 'tokens', used: tokens, limit: budget.tokens, ratio: tokens / budget.tokens })
  if (budget.cost !== undefined && usage.cost !== null)
    parts.push({ of: 'cost', used: usage.cost, limit: budget.cost, ratio: usage.cost / budget.cost })
  return parts.reduce<BudgetUse | null>((best, p) => (best === null || p.ratio > best.ratio ? p : best), null)
}

/** "rpm 60 · tpm 10,000 · 2 at once", or "defaults" when none is set. */
export function limitsText(limits: TokenDto['limits']): string {
  const n = (v: number) => v.toLocaleString('en-US')
  const parts = [
    limits.rpm !== undefined ? `rpm ${n(limits.rpm)}` : '',
    limits.tpm !== undefined ? `tpm ${n(limits.tpm)}` : '',
    limits.concurrency !== undefined ? `${n(limits.concurrency)} at once` : '',
  ].filter(Boolean)
  return parts.length ? parts.join(' · ') : 'defaults'
}

/** The form's strings → the API's grant fields; empty fields are left out (limits) or null (budget, expiry). */
export interface GrantForm {
  project: string
  rpm: string
  tpm: string
  concurrency: string
  budgetTokens: string
  budgetCost: string
  period: 'day' | 'month'
  /** A datetime-local value ("2026-12-31T23:59"), local time; empty: never. */
  expires: string
}

export function emptyGrantForm(): GrantForm {
  return {
    project: '',
    rpm: '',
    tpm: '',
    concurrency: '',
    budgetTokens: '',
    budgetCost: '',
    period: 'month',
    expires: '',
  }
}

const pad = (n: number) => String(n).padStart(2, '0')

export function grantFormOf(token: TokenDto): GrantForm {
  const e = token.expires_at ? new Date(token.expires_at) : null
  const str = (v: number | undefined) => (v === undefined ? '' : String(v))
  return {
    project: token.project ?? '',
    rpm: str(token.limits.rpm),
    tpm: str(token.limits.tpm),
    concurrency: str(token.limits.concurrency),
    budgetTokens: str(token.budget?.tokens),
    budgetCost: str(token.budget?.cost),
    period: token.budget?.period ?? 'month',
    expires: e
      ? `${e.getFullYear()}-${pad(e.getMonth() + 1)}-${pad(e.getDate())}T${pad(e.getHours())}:${pad(e.getMinutes())}`
      : '',
  }
}

/**
 * Numbers are sent as typed (a bad one as the number it parses to, or the text itself, so the
 * server's validation names the field); the server is the judge of every value.
 */
export function grantBody(form: GrantForm) {
  const num = (s: string) => (s.trim() === '' ? undefined : Number.isNaN(Number(s)) ? s.trim() : Number(s))
  const limits = Object.fromEntries(
    Object.entries({ rpm: num(form.rpm), tpm: num(form.tpm), concurrency: num(form.concurrency) }).filter(
      ([, v]) => v !== undefined,
    ),
  )
  const tokens = num(form.budgetTokens)
  const cost = num(form.budgetCost)
  return {
    project: form.project.trim() || null,
    limits,
    budget:
      tokens === undefined && cost === undefined
        ? null
        : { ...(tokens !== undefined && { tokens }), ...(cost !== undefined && { cost }), period: form.period },
    expires_at: form.expires ? new Date(form.expires).toISOString() : null,
  }
}

/** The server's problems with a token form: its own codes for expiry and budget go to their fields. */
export function grantProblems(err: unknown): FieldProblems {
  const problems = saveProblems(err)
  const field =
    err instanceof ApiError ? { invalid_expiry: '/expires_at', invalid_budget: '/budget' }[err.code] : undefined
  if (field && err instanceof Error) return { fields: new Map([[field, err.message]]), general: [] }
  return problems
}
