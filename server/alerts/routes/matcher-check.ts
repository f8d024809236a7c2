import { compileMatcherRegex } from '../../../alerts/labels.js'
import { badRequest } from '../../errors.js'
import type { MatcherInput } from '../../contract/alerts.js'

/** Rejects a regex matcher whose pattern does not compile, naming the field. */
export function checkMatchers(matchers: readonly MatcherInput[] | undefined, path: string): void {
  matchers?.forEach((m, index) => {
    if ((m.op === '=~' || m.op === '!~') && !compileMatcherRegex(m.value)) {
      throw badRequest(
        `${path}/${index}/value is not a valid regular expression: ${JSON.stringify(m.value)}`,
        'validation_error',
      )
    }
  })
}
