/** The CodePush-compatible API (issue 7, ADR 0003): the only import surface of this slice. */
export { createCodePushSlice, type CodePushSlice, type CodePushSliceDeps } from './create-codepush-slice.js';
export { codePushAcquisitionRoutes, codePushAdminRoutes, updateCheckBody } from './codepush-routes.js';
export type { CodePushService, CodePushLabelView, CodePushReleaseOptions } from './codepush-service.js';
export type { CodePushAcquisition, UpdateInfo } from './codepush-acquisition.js';
export type { CodePushDeployment, CodePushBucketing, LabelMetrics } from './codepush-store.js';
