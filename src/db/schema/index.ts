export * from './users.ts';
export * from './twofactor.ts';
export * from './audit.ts';
export * from './sessions.ts';
export * from './apppasswords.ts';
export * from './sharing.ts';
export * from './admin.ts';
export * from './webmail.ts';
