export * from './errors';
export * from './problem';
export * from './common';
export * from './auth';
export * from './catalog';
export * from './orders';
export * from './recommendations';
export * from './events';
