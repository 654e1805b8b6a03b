/** Everything workflows, activities and the CLI share. Importable from workflow code. */
export * from './queues';
export * from './errors';
export * from './search-attributes';
export * from './status';
export * from './workflow-types';
export * from './messages';
export * from './ids';
export * from './episode';
export * from './provider-batch';
