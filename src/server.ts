/**
 * The `prescient/server` entry point: the HTTP service (`prescient serve`) as a library, for embedding it in a
 * process of your own or testing against it. Kept apart from the main entry so `prescient` alone pulls in no Fastify.
 */
export { createServer } from './server/app.ts';
export type { PrescientServer, ServiceOverrides } from './server/app.ts';
export { isLoopback, parseConfigText, resolveConfig } from './server/config.ts';
export type { ConfigOverrides, Scope, ServerConfig, ServerEnv, TokenConfig } from './server/config.ts';
export { Service } from './server/service.ts';
export type { ApiPrediction, ServiceOptions, WriteAck, WritePath } from './server/service.ts';
export { errorBody, statusByCode, statusOf, toHttpError } from './server/http-errors.ts';
export type { ErrorBody, HttpError } from './server/http-errors.ts';
export { registerDashboard, DashboardFeed, dashboardRoutes } from './server/dashboard.ts';
export type { DashboardOptions, DashboardPoint, DashboardPrediction, DashboardSnapshot, DashboardSource } from './server/dashboard.ts';
