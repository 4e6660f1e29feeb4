/** The field getters moved to engine/fields.ts (they know no language); this path stays for EQL code and its users. */
export * from '../engine/fields.js';
