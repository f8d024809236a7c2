import { Type, type Static } from '@sinclair/typebox'
import { ProjectName, TokenBudget, TokenLimits } from './auth.js'
import { UsageTotalsView } from './usage.js'

export const ProjectParams = Type.Object({ name: ProjectName }, { additionalProperties: false })

/** A project's own limits and budget: enforced on top of each of its tokens' (GET /api/projects). */
export const ProjectView = Type.Object({
  name: Type.String(),
  limits: TokenLimits,
  budget: Type.Union([TokenBudget, Type.Null()]),
  /** Active tokens of the project. */
  tokens: Type.Integer(),
  /** The project's usage in its budget period (the month without a budget). */
  usage: Type.Composite([
    UsageTotalsView,
    Type.Object({ period: Type.Union([Type.Literal('day'), Type.Literal('month')]), period_start: Type.String() }),
  ]),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  updated_by: Type.Union([Type.String(), Type.Null()]),
})
export type ProjectDto = Static<typeof ProjectView>

/** PUT /api/projects/:name: the fields sent replace the project's (budget null clears it). */
export const ProjectSettingsBody = Type.Object(
  { limits: Type.Optional(TokenLimits), budget: Type.Optional(Type.Union([TokenBudget, Type.Null()])) },
  { additionalProperties: false },
)
export type ProjectSettingsDto = Static<typeof ProjectSettingsBody>
