import { bodyTemplateProblem } from '../../../../alerts/kinds/body-template.js'
import { alertmanagerWebhook } from '../../../../alerts/payload.js'
import { badRequest } from '../../../errors.js'
import { postSigned, refuseFields, urlOf } from './http.js'
import type { ReceiverKindModule } from './types.js'

const SAMPLE = alertmanagerWebhook({
  receiver: 'sample',
  externalURL: 'http://localhost',
  groupLabels: { alertname: 'Sample' },
  alerts: [
    {
      fingerprint: '0000000000000000',
      status: 'firing',
      labels: { alertname: 'Sample' },
      annotations: {},
      startsAt: 0,
      endsAt: null,
    },
  ],
})

/** Alertmanager's webhook JSON, Slack's { text }, or the receiver's own JSON template. */
export const webhookKind: ReceiverKindModule = {
  validate(body, stored) {
    refuseFields(body, ['email', 'pagerduty', 'telegram'])
    const template = body.template === undefined ? (stored?.settings.template ?? null) : body.template
    if (template !== null) {
      const problem = bodyTemplateProblem(template, SAMPLE)
      if (problem) throw badRequest(`body/template ${problem}`, 'validation_error')
    }
    return { url: urlOf(body, stored), settings: template === null ? {} : { template }, credential: null }
  },
  send: postSigned,
}
