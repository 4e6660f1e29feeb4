export * from './common.js';
export * from './threshold.js';
export * from './new-terms.js';
