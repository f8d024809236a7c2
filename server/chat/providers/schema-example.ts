type Schema = Record<string, unknown>

/**
 * A deterministic value that satisfies a JSON schema's common keywords (type, properties,
 * required, enum, const, items, minItems, minimum/maximum, minLength, anyOf/oneOf/allOf, $ref to
 * $defs/definitions): what the simulated provider puts in tool-call arguments and JSON answers.
 */
export function schemaExample(schema: unknown, root: unknown = schema, name = 'value', depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return null
  const s = schema as Schema
  if (typeof s.$ref === 'string') return schemaExample(resolveRef(root, s.$ref), root, name, depth + 1)
  if ('const' in s) return s.const
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0]
  for (const key of ['anyOf', 'oneOf'] as const)
    if (Array.isArray(s[key]) && (s[key] as unknown[]).length)
      return schemaExample((s[key] as unknown[])[0], root, name, depth + 1)
  if (Array.isArray(s.allOf)) return schemaExample(Object.assign({}, ...(s.allOf as Schema[])), root, name, depth + 1)
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? s.type[0]) : s.type
  switch (type ?? (s.properties ? 'object' : s.items ? 'array' : 'string')) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, unknown>
      const names = Array.isArray(s.required) ? (s.required as string[]) : Object.keys(properties)
      return Object.fromEntries(names.map((key) => [key, schemaExample(properties[key] ?? {}, root, key, depth + 1)]))
    }
    case 'array': {
      const count = Math.max(1, typeof s.minItems === 'number' ? s.minItems : 1)
      return Array.from({ length: count }, () => schemaExample(s.items ?? {}, root, name, depth + 1))
    }
    case 'integer':
    case 'number': {
      const min =
        typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 1
      const max = typeof s.maximum === 'number' ? s.maximum : Number.POSITIVE_INFINITY
      const value = Math.min(type === 'integer' ? Math.ceil(min) : min, max)
      return type === 'integer' ? Math.floor(value) : value
    }
    case 'boolean':
      return true
    case 'null':
      return null
    default:
      return exampleString(s, name)
  }
}

function exampleString(s: Schema, name: string): string {
  const formats: Record<string, string> = {
    'date-time': '2026-01-01T00:00:00Z',
    date: '2026-01-01',
    email: 'user@example.com',
    uri: 'https://example.com/',
    uuid: '00000000-0000-4000-8000-000000000000',
  }
  let text = formats[String(s.format)] ?? `example ${name}`
  const min = typeof s.minLength === 'number' ? s.minLength : 0
  while (text.length < min) text += 'x'
  return typeof s.maxLength === 'number' ? text.slice(0, s.maxLength) : text
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return {}
  let node: unknown = root
  for (const part of ref.slice(1).split('/').filter(Boolean))
    node = node && typeof node === 'object' ? (node as Schema)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined
  return node ?? {}
}
