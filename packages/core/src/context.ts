/**
 * What a device tells the server about itself when it asks "what should I run?".
 * The same shape is used by the release engine, config targeting and the gateway.
 *
 * @example
 * const ctx: DeviceContext = { deviceId: 'd-1', platform: 'android', appVersion: '8.3.1' };
 */
export interface DeviceContext {
  readonly deviceId: string;
  readonly userId?: string | undefined;
  readonly platform: string;
  readonly appVersion: string;
  readonly osVersion?: string | undefined;
  readonly channel?: string | undefined;
  readonly deviceModel?: string | undefined;
  readonly cpu?: string | undefined;
  readonly region?: string | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
}

/** The built-in attributes a targeting rule may name; custom ones are `attributes.NAME`. */
export const BUILTIN_ATTRIBUTES = [
  'appVersion',
  'platform',
  'osVersion',
  'channel',
  'deviceModel',
  'cpu',
  'region',
  'userId',
  'deviceId',
] as const;

export type BuiltinAttribute = (typeof BUILTIN_ATTRIBUTES)[number];
