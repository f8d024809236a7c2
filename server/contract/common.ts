import { Type } from '@sinclair/typebox'

/** Schemas shared by many routes. */
export const ErrorResponse = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) },
  { description: 'Every error has this shape' },
)

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })

/** A timestamp: rows carry Dates, the wire carries ISO 8601 strings (the serializer converts). */
export const DateTime = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' })
export const NullableDateTime = Type.Unsafe<Date | string | null>({ type: ['string', 'null'], format: 'date-time' })
