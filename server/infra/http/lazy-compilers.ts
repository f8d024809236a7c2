import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
/** What Fastify calls: (schemas added with addSchema, options) → (route definition) → function. */
type Builder<F> = (externalSchemas: unknown, options: unknown) => (route: unknown) => F
interface Validate {
  (this: unknown, data: unknown, context?: unknown): unknown
  errors?: unknown
  schemaEnv?: unknown
}

/**
 * Fastify's own compilers (Ajv for request parts, fast-json-stringify for responses), each
 * route's function compiled on its first request instead of at start-up. Compiling ~240
 * schemas was most of buildApp's time and their code stayed resident for routes an instance
 * may never serve. What a compiled function does is unchanged; a schema that does not compile
 * fails its route's first request (500, logged) rather than the start.
 *
 * Fastify treats a custom validator builder as "custom" and then leaves header schemas as
 * written instead of lower-casing their keys: declare header schemas in lower case.
 */
export function lazyCompilers(): Required<CompilersFactory> {
  const validators = AjvCompiler() as unknown as Builder<Validate>
  const serializers = SerializerSelector() as unknown as Builder<(doc: unknown) => string>
  const buildValidator: Builder<Validate> = (externalSchemas, options) => {
    const compilerFor = validators(externalSchemas, options)
    return (route) => lazyValidate(() => compilerFor(route))
  }
  const buildSerializer: Builder<(doc: unknown) => string> = (externalSchemas, options) => {
    const compilerFor = serializers(externalSchemas, options)
    return (route) => {
      let serialize: ((doc: unknown) => string) | undefined
      return (doc) => (serialize ??= compilerFor(route))(doc)
    }
  }
  return {
    buildValidator: buildValidator as unknown as CompilersFactory['buildValidator'] & {},
    buildSerializer: buildSerializer as unknown as CompilersFactory['buildSerializer'] & {},
  }
}

/**
 * A validate function that compiles on first use. Fastify reads `schemaEnv` before each call
 * (to let Ajv coerce a root value through its parent) and `errors` after a failed one; both
 * are forwarded to the compiled function, so the first read compiles it.
 */
function lazyValidate(compile: () => Validate): Validate {
  let compiled: Validate | undefined
  const get = () => (compiled ??= compile())
  const validate = function (this: unknown, data: unknown, context?: unknown) {
    return get().call(this, data, context)
  }
  Object.defineProperties(validate, {
    errors: {
      get: () => get().errors,
      set: (value: Validate['errors']) => {
        get().errors = value
      },
    },
    schemaEnv: { get: () => get().schemaEnv },
  })
  return validate as unknown as Validate
}
