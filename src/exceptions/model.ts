/**
 * Exception lists and items as Kibana's Security app stores and exports them (the lists plugin's
 * `ExceptionListSchema` / `ExceptionListItemSchema`), validated with zod. The same entry shape
 * is used by Lookout's own exceptions files, so an item can move between the two unchanged.
 * Fields that do not change what an item excepts (created_by, tie_breaker_id, meta...) are kept
 * loosely, so an export from any recent Kibana loads.
 */
import * as z from 'zod';

export const operator = z.enum(['included', 'excluded']);

const field = z.string().min(1, 'must not be empty');

export const matchEntry = z.strictObject({ field, operator, type: z.literal('match'), value: z.string().min(1, 'must not be empty') });
export const matchAnyEntry = z.strictObject({
  field, operator, type: z.literal('match_any'),
  value: z.array(z.string().min(1, 'must not be empty')).min(1, 'needs at least one value'),
});
export const wildcardEntry = z.strictObject({ field, operator, type: z.literal('wildcard'), value: z.string().min(1, 'must not be empty') });
export const existsEntry = z.strictObject({ field, operator, type: z.literal('exists') });

/** Value list types of Kibana's lists plugin; `ip_range` values are `a-b` ranges or CIDR blocks. */
export const valueListType = z.enum([
  'binary', 'boolean', 'byte', 'date', 'date_nanos', 'date_range', 'double', 'double_range', 'float', 'float_range',
  'geo_point', 'geo_shape', 'half_float', 'integer', 'integer_range', 'ip', 'ip_range', 'keyword', 'long', 'long_range',
  'shape', 'short', 'text',
]);
export const listEntry = z.strictObject({
  field, operator, type: z.literal('list'),
  list: z.strictObject({ id: z.string().min(1, 'must not be empty'), type: valueListType }),
});
/** Kibana allows match, match_any and exists inside a nested entry; `field` is the nested path. */
export const nestedEntry = z.strictObject({
  field, type: z.literal('nested'),
  entries: z.array(z.discriminatedUnion('type', [matchEntry, matchAnyEntry, existsEntry])).min(1, 'needs at least one entry'),
});

export const entry = z.discriminatedUnion('type', [matchEntry, matchAnyEntry, wildcardEntry, existsEntry, listEntry, nestedEntry]);

export type Entry = z.infer<typeof entry>;
export type NestedChild = z.infer<typeof nestedEntry>['entries'][number];
export type ValueListType = z.infer<typeof valueListType>;

export const namespaceType = z.enum(['single', 'agnostic']);
export const listType = z.enum(['detection', 'endpoint', 'rule_default', 'endpoint_trusted_apps', 'endpoint_events', 'endpoint_host_isolation_exceptions', 'endpoint_blocklists']);
export const osType = z.enum(['linux', 'macos', 'windows']);

const isoDate = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'expected an ISO 8601 date such as 2026-12-31T00:00:00Z');

/** An exception list container line of the export. */
export const exceptionListSchema = z.looseObject({
  list_id: z.string().min(1),
  namespace_type: namespaceType,
  type: listType,
  name: z.string().default(''),
  id: z.string().optional(),
  os_types: z.array(osType).default([]),
});

/** An exception item line of the export. */
export const exceptionItemSchema = z.looseObject({
  item_id: z.string().min(1),
  list_id: z.string().min(1),
  namespace_type: namespaceType,
  type: z.literal('simple').default('simple'),
  name: z.string().default(''),
  entries: z.array(entry).min(1, 'needs at least one entry'),
  os_types: z.array(osType).default([]),
  expire_time: isoDate.optional(),
  comments: z.array(z.looseObject({ comment: z.string() })).default([]),
});

/** A rule's `exceptions_list` reference. */
export const listRefSchema = z.looseObject({
  id: z.string().min(1),
  list_id: z.string().min(1),
  type: listType,
  namespace_type: namespaceType,
});

export type ExceptionListRef = Readonly<z.infer<typeof listRefSchema>>;

/** One item ready to compile: where it came from (for errors) and what it excepts. */
export interface ExceptionItem {
  /** `file`, and for an export its line; for a native file `items[i]`. */
  readonly source: string;
  readonly itemId: string;
  readonly entries: readonly Entry[];
  readonly osTypes: readonly string[];
  /** Epoch ms; the item is not applied at or after this time (Kibana: applied while expire_time > now). */
  readonly expiresAt?: number;
}

/** A list of items, from a Kibana export or a Lookout exceptions file. */
export interface ExceptionList {
  readonly ref: ExceptionListRef;
  readonly file: string;
  readonly items: readonly ExceptionItem[];
}
