import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fromProjectRoot } from '../paths.js'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { loadRulesYaml } from '../../alerts/rule.js'
import type { Snapshot } from '../metrics/snapshot.js'
import { VERSION } from '../version.js'
import { AlertChanges, changesChannel } from './changes.js'
import { AlertEvaluator } from './evaluation/evaluator.js'
import { RuleStore } from './evaluation/rule-repository.js'
import { SilenceStore } from './evaluation/silence-repository.js'
import { WindowStore } from './evaluation/window-repository.js'
import { AlertStateStore } from './evaluation/state-repository.js'
import { Outbox } from './notification/outbox-repository.js'
import { OutboxNotifier } from './notification/outbox-notifier.js'
import { ConfigError } from '../config.js'
import { describeRefusal, ReceiverAddressPolicy } from './notification/receiver-address.js'
import { signingSecretProblem } from './notification/signature.js'
import { ReceiverStore, webhookReceiver } from './notification/receiver-repository.js'
import { WebhookSender } from './notification/delivery.js'
import { SmtpSender } from './notification/smtp.js'
import { DeliveryWorker } from './notification/worker.js'
import { alertRoutes } from './routes/alert-routes.js'
import { receiverRoutes } from './routes/receiver-routes.js'
import { notificationRoutes } from './routes/notification-routes.js'
import { ruleRoutes } from './routes/rule-routes.js'
import { silenceRoutes } from './routes/silence-routes.js'
import { windowRoutes } from './routes/window-routes.js'

export interface Alerting {
  rules: RuleStore
  states: AlertStateStore
  silences: SilenceStore
  /** Maintenance windows: mute notifications (never evaluation) once or on a cron schedule. */
  windows: WindowStore
  receivers: ReceiverStore
  /** Which hosts receivers may send to (ALERT_RECEIVER_ALLOW_PRIVATE), checked at save and by every connection. */
  receiverAddresses: ReceiverAddressPolicy
  outbox: Outbox
  notifier: OutboxNotifier
  evaluator: AlertEvaluator
  worker: DeliveryWorker
  /** Routes that change rules, silences, states or receivers say so here: the leader reloads them. */
  changes: AlertChanges
}

declare module 'fastify' {
  interface FastifyInstance {
    alerts: Alerting
  }
}

export interface AlertsPluginOptions {
  /**
   * Whether this instance evaluates and delivers. Default: the fleet's leader when the fleet
   * plugin is registered, else always (a single instance).
   */
  isLeader?: () => boolean
  /** The delivery worker's clock (tests). */
  clock?: () => number
}

export const DEFAULT_RULES_FILE = fromProjectRoot('alerts', 'rules', 'default.yaml')

/**
 * Alerting: rules evaluated on every sampler snapshot, state and history in Postgres,
 * notifications through a Postgres outbox to webhooks, Slack and Alertmanagers.
 */
export default fp<AlertsPluginOptions>(
  async function alertsPlugin(app: FastifyInstance, options) {
    const { config, db } = app
    const isLeader = options.isLeader ?? (() => (app.hasDecorator('fleet') ? app.fleet.isLeader() : true))

    const rules = new RuleStore(db, (name, problem) =>
      app.log.warn({ rule: name, problem }, 'stored alert rule is invalid; skipped'),
    )
    const receivers = new ReceiverStore(db)
    const outbox = new Outbox(db, {
      externalURL: config.publicUrl,
      retryWindowMs: config.alerts.delivery.retryWindowMs,
    })
    const log = app.log.child({ feature: 'alerts' })
    const receiverAddresses = new ReceiverAddressPolicy({ allowPrivate: config.alerts.receiverAllowPrivate })
    const sender = new WebhookSender({
      policy: receiverAddresses,
      timeoutMs: config.alerts.delivery.timeoutMs,
      userAgent: `chat-control-plane/${VERSION}`,
    })
    const worker = new DeliveryWorker({
      outbox,
      receivers,
      metrics: app.metrics,
      log,
      settings: config.alerts.delivery,
      transports: {
        http: sender,
        smtp: new SmtpSender({
          policy: receiverAddresses,
          timeoutMs: config.alerts.delivery.timeoutMs,
          tlsVerify: config.alerts.smtpTlsVerify,
        }),
      },
      isLeader,
      clock: options.clock,
    })
    const notifier = new OutboxNotifier({
      receivers,
      outbox,
      log,
      isLeader,
      onEnqueued: () => worker.kick(),
      externalURL: config.publicUrl,
    })
    const states = new AlertStateStore(db)
    const silences = new SilenceStore(db)
    const windows = new WindowStore(db)
    const evaluator = new AlertEvaluator({
      db,
      rules,
      states,
      silences,
      windows,
      notifier,
      series: app.series,
      metrics: app.metrics,
      events: app.events,
      log,
      isLeader,
    })
    const changes = new AlertChanges(app.redis, changesChannel(config.cachePrefix), randomUUID(), log)
    changes.on((change) => {
      if (change === 'receivers') notifier.onReceiversChanged()
      else evaluator.onChange(change)
    })
    if (app.hasDecorator('fleet') && !options.isLeader)
      app.fleet.leader.onChange((leading) => evaluator.onLeadership(leading))
    app.decorate('alerts', {
      rules,
      states,
      silences,
      windows,
      receivers,
      receiverAddresses,
      outbox,
      notifier,
      evaluator,
      worker,
      changes,
    })

    // A bad rules file stops the start with a message naming the rule and field.
    const rulesFile = config.alerts.rulesFile ?? DEFAULT_RULES_FILE
    const initialRules = loadRulesYaml(await readFile(rulesFile, 'utf8'))
    if (await rules.seedOnce(initialRules))
      app.log.info({ file: rulesFile, rules: initialRules.length }, 'alert rules seeded')
    const { webhook } = config.alerts
    const secretProblem = webhook.secret ? signingSecretProblem(webhook.secret) : null
    if (secretProblem) throw new ConfigError(`ALERT_WEBHOOK_SECRET ${secretProblem}`)
    if (webhook.url) {
      // Literal addresses and metadata names are told without DNS; names are checked at each send.
      const refusal = URL.canParse(webhook.url)
        ? receiverAddresses.refusalWithoutDns(new URL(webhook.url).hostname)
        : null
      if (refusal)
        log.warn(
          { problem: `ALERT_WEBHOOK_URL names ${describeRefusal(refusal)}` },
          'ALERT_WEBHOOK_URL is refused by the receiver address policy: its notifications will fail',
        )
      const input = webhookReceiver({ name: 'webhook', format: webhook.format, url: webhook.url })
      await receivers.upsertFromEnv(input, webhook.secret ?? null)
    }

    const onSnapshot = (snapshot: Snapshot) => evaluator.onSnapshot(snapshot)
    app.events.on('snapshot', onSnapshot)
    app.addHook('onReady', async () => {
      // What was seeded or upserted above may be news to a leader that started first.
      changes.start()
      changes.publish('rules')
      changes.publish('receivers')
      if (isLeader()) evaluator.onLeadership(true)
      worker.start()
    })
    app.addHook('onClose', async () => {
      app.events.off('snapshot', onSnapshot)
      changes.stop()
      await evaluator.idle()
      await notifier.idle()
      await worker.stop()
      await sender.close()
    })

    const typed = app.withTypeProvider<TypeBoxTypeProvider>()
    await typed.register(ruleRoutes)
    await typed.register(alertRoutes)
    await typed.register(silenceRoutes)
    await typed.register(windowRoutes)
    await typed.register(receiverRoutes)
    await typed.register(notificationRoutes)
  },
  { name: 'alerts', dependencies: ['database', 'redis', 'metrics-registry', 'metrics', 'fleet', 'audit', 'auth'] },
)
