import type { OperationNode } from 'kysely'

export type QueryType = 'select' | 'insert' | 'update' | 'delete' | 'other'

export interface QueryLabels {
  query_type: QueryType
  table: string
}

/** Queries written as raw SQL (sql`...`) carry no tree to read a table from. */
export const RAW_TABLE = 'raw'
/** A query without a table (select 1, select now()). */
export const NO_TABLE = 'none'

const queryTypes: Record<string, QueryType> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
}

type AnyNode = OperationNode & Record<string, unknown>

/** The table a from/into/table position names: through aliases, lists and joins to the first table. */
function tableIn(node: unknown): string | null {
  if (!node || typeof node !== 'object') return null
  const n = node as AnyNode
  switch (n.kind) {
    case 'TableNode': {
      const identifier = (n.table as { identifier?: { name?: unknown } } | undefined)?.identifier
      return typeof identifier?.name === 'string' ? identifier.name : null
    }
    case 'AliasNode':
      return tableIn(n.node)
    case 'FromNode':
      return tableIn((n.froms as unknown[] | undefined)?.[0])
    case 'ListNode':
      return tableIn((n.items as unknown[] | undefined)?.[0])
    case 'JoinNode':
      return tableIn(n.table)
    default:
      return null
  }
}

/**
 * Labels for database_query_duration_seconds, read from Kysely's operation-node tree (never
 * from the SQL text): the statement kind and its main table, without the schema so that
 * the label stays the same whatever DATABASE_SCHEMA is.
 */
export function queryLabels(root: OperationNode): QueryLabels {
  const n = root as AnyNode
  if (n.kind === 'RawNode') return { query_type: 'other', table: RAW_TABLE }
  const queryType = queryTypes[n.kind] ?? 'other'
  // update names its table in `table` (its `from` is a joined source); select/delete in
  // `from`, insert/merge in `into`, DDL nodes in `table`.
  const position = n.kind === 'UpdateQueryNode' ? n.table : (n.from ?? n.into ?? n.table)
  return { query_type: queryType, table: tableIn(position) ?? NO_TABLE }
}
