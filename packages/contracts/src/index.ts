export * from './constants.js';
export * from './job.js';
export * from './problem.js';
export * from './events.js';
