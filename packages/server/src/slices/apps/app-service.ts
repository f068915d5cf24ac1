import type { Clock } from '../../platform/clock.js';
import { generateSecret, hashSecret } from '../../platform/ids.js';
import { AppNotFound, CrowdNotFound } from './app-errors.js';
import type { App, AppStore, Crowd } from './app-store.js';

export const PLATFORMS = ['android', 'ios', 'harmony'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface CreateAppInput {
  readonly id: string;
  readonly name?: string | undefined;
  readonly platforms: readonly Platform[];
}

export interface AppServiceDeps {
  readonly appStore: AppStore;
  readonly clock: Clock;
  /** Tells the client-facing index that an app's catalogue changed. */
  readonly notifyChanged: (appId: string) => Promise<void>;
}

/** Apps, their client keys, crowds and admin-token checks. */
export class AppService {
  readonly #store: AppStore;
  readonly #clock: Clock;
  readonly #notify: (appId: string) => Promise<void>;

  constructor(deps: AppServiceDeps) {
    this.#store = deps.appStore;
    this.#clock = deps.clock;
    this.#notify = deps.notifyChanged;
  }

  async createApp(input: CreateAppInput): Promise<App> {
    const app: App = {
      id: input.id,
      name: input.name ?? input.id,
      platforms: [...new Set(input.platforms)],
      clientKey: generateSecret('hck_'),
      createdAt: this.#clock.now().toISOString(),
    };
    await this.#store.insertApp(app);
    await this.#notify(app.id);
    return app;
  }

  async getApp(id: string): Promise<App> {
    const app = await this.#store.getApp(id);
    if (!app) throw AppNotFound({ app: id });
    return app;
  }

  listApps(): Promise<App[]> {
    return this.#store.listApps();
  }

  async setCrowd(appId: string, name: string, members: readonly string[]): Promise<Crowd> {
    await this.getApp(appId);
    const crowd: Crowd = {
      appId,
      name,
      members: [...new Set(members)],
      updatedAt: this.#clock.now().toISOString(),
    };
    await this.#store.upsertCrowd(crowd);
    await this.#notify(appId);
    return crowd;
  }

  async listCrowds(appId: string): Promise<Crowd[]> {
    await this.getApp(appId);
    return this.#store.listCrowds(appId);
  }

  async getCrowd(appId: string, name: string): Promise<Crowd> {
    const crowd = await this.#store.getCrowd(appId, name);
    if (!crowd) throw CrowdNotFound({ app: appId, crowd: name });
    return crowd;
  }

  /** Stores the bootstrap admin token (only its hash). */
  async setBootstrapToken(token: string): Promise<void> {
    await this.#store.putAdminToken({
      id: 'bootstrap',
      name: 'bootstrap',
      tokenHash: hashSecret(token),
      createdAt: this.#clock.now().toISOString(),
    });
  }

  async isAdminToken(token: string): Promise<boolean> {
    return (await this.#store.findAdminTokenByHash(hashSecret(token))) !== null;
  }
}
