import { badRequest } from '../../../errors.js'
import { postSigned, refuseFields, urlOf } from './http.js'
import type { ReceiverKindModule } from './types.js'

/** API v2 alerts to an Alertmanager (resent once a minute while firing, see OutboxNotifier). */
export const alertmanagerKind: ReceiverKindModule = {
  validate(body, stored) {
    if (body.format === 'slack')
      throw badRequest(
        'body/format slack applies to webhooks; an alertmanager receiver gets API v2 alerts',
        'validation_error',
      )
    refuseFields(body, ['email', 'pagerduty', 'telegram', 'template'])
    return { url: urlOf(body, stored), settings: {}, credential: null }
  },
  send: postSigned,
}
