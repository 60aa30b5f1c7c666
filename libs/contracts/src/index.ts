export * from './errors';
export * from './problem';
export * from './common';
export * from './auth';
