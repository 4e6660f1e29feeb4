export * from './common.js';
export * from './spec.js';
export * from './threshold.js';
export * from './new-terms.js';
