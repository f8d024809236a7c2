import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { DiskUsage } from './disk.js'
import { EventLoopLag } from './event-loop.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The one event-loop delay measurement (signal, health component and load shedding read it). */
    eventLoop: EventLoopLag
    /** The one measurement of the disk holding DATA_DIR (signal and health component read it). */
    disk: DiskUsage
  }
}

/** Readings of the process's own machine that several features share, measured once. */
export default fp(
  async function probesPlugin(app: FastifyInstance) {
    const eventLoop = new EventLoopLag()
    app.decorate('eventLoop', eventLoop)
    app.decorate('disk', new DiskUsage(app.config.dataDir, (err) => app.log.warn({ err }, 'could not read disk usage')))
    app.addHook('onClose', async () => eventLoop.close())
  },
  { name: 'probes' },
)
