import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message)
    process.exit(1)
  }
  throw err
}

const app = await buildApp(config).catch((err: unknown) => {
  console.error(`Could not start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})

let shuttingDown = false
async function shutdown(signal: string) {
  if (shuttingDown) return
  shuttingDown = true
  app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests')
  const timer = setTimeout(() => {
    app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; exiting')
    process.exit(1)
  }, config.shutdownTimeoutMs)
  timer.unref()
  try {
    await app.close()
    app.log.info('shutdown complete')
    process.exit(0)
  } catch (err) {
    app.log.error({ err }, 'error during shutdown')
    process.exit(1)
  }
}
process.once('SIGTERM', () => void shutdown('SIGTERM'))
process.once('SIGINT', () => void shutdown('SIGINT'))

try {
  await app.listen({ host: config.host, port: config.port })
  app.log.info(`dashboard on ${config.publicUrl} — API docs at ${config.publicUrl}/api/docs`)
} catch (err) {
  app.log.error({ err }, 'could not listen')
  await app.close().catch(() => {})
  process.exit(1)
}
